// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "Tributary",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "tributary", targets: ["tributary"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/adam-fowler/compress-nio.git", from: "1.5.0"),
    ],
    targets: [
        // Values shared by every stage; no I/O.
        .target(name: "TributaryCore"),
        // The database protocol, values, SQL with binds, schema model.
        .target(name: "TributarySQL", dependencies: [
            "TributaryCore",
            .product(name: "Logging", package: "swift-log"),
        ]),
        .target(name: "TributarySQLite", dependencies: [
            "TributarySQL",
            .product(name: "GRDB", package: "GRDB.swift"),
        ]),
        .target(name: "TributaryPostgres", dependencies: [
            "TributarySQL",
            .product(name: "PostgresNIO", package: "postgres-nio"),
        ]),
        .systemLibrary(name: "CMariaDB", pkgConfig: "libmariadb", providers: [.apt(["libmariadb-dev"])]),
        .target(name: "TributaryMySQL", dependencies: [
            "TributarySQL", "CMariaDB",
            .product(name: "NIOPosix", package: "swift-nio"),
        ]),
        // The OpenMRS kit (schema, core and sample data, inventory) and profile.
        .target(name: "TributaryOpenMRS", dependencies: ["TributaryCore"], resources: [.copy("Kit")]),
        .target(name: "TributaryEngine", dependencies: [
            "TributaryCore", "TributarySQL", "TributarySQLite", "TributaryPostgres", "TributaryMySQL",
            "TributaryOpenMRS",
            .product(name: "Yams", package: "Yams"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Crypto", package: "swift-crypto"),
        ]),
        // Node-to-node HTTP: the parent's routes and the child's client.
        .target(name: "TributaryHTTP", dependencies: [
            "TributaryEngine",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "CompressNIO", package: "compress-nio"),
        ]),
        // Sites without a network: encrypted, authenticated bundle files.
        .target(name: "TributaryOffline", dependencies: [
            "TributaryEngine",
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "CompressNIO", package: "compress-nio"),
            .product(name: "NIOCore", package: "swift-nio"),
        ]),
        .executableTarget(name: "tributary", dependencies: [
            "TributaryEngine", "TributaryHTTP", "TributaryOffline",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ]),
        .executableTarget(name: "CaptureOverhead", dependencies: ["TributaryEngine"], path: "Benchmarks/CaptureOverhead"),
        .target(name: "BenchmarkSupport", dependencies: ["TributarySQL", "TributaryEngine"], path: "Benchmarks/Support"),
        .executableTarget(name: "SyncThroughput", dependencies: ["TributaryEngine", "TributaryHTTP", "BenchmarkSupport"], path: "Benchmarks/SyncThroughput"),
        .executableTarget(name: "InitialLoad", dependencies: ["TributaryEngine", "TributaryHTTP", "BenchmarkSupport"], path: "Benchmarks/InitialLoad"),
        .testTarget(name: "TributaryCoreTests", dependencies: ["TributaryCore", "TributaryEngine", "TributarySQL"]),
        .testTarget(name: "TributaryDatabaseTests", dependencies: ["TributaryEngine", "TributaryHTTP", "TributaryOffline"]),
    ]
)
