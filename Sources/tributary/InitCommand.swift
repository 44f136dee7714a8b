import ArgumentParser
import Foundation
import TributaryCore
import TributaryEngine

struct InitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Write a node configuration from OpenMRS's own openmrs-runtime.properties (its database connection).")

    @Option(name: .customLong("openmrs-runtime-properties"), help: "OpenMRS's openmrs-runtime.properties.") var properties: String
    @Option(name: .customLong("node-id"), help: "This node's id, unique in the tree (letters, digits, . _ -).") var nodeID: String
    @Option(name: .long, help: "This node's group: central, district, clinic, …") var group: String
    @Option(name: .long, help: "The parent's URL (omit for the root of the tree).") var parent: String?
    @Option(name: .long, help: "The registration token the parent accepts.") var token: String?
    @Option(name: .long, help: "host:port to serve children on (the root's default: 0.0.0.0:8400).") var listen: String?
    @Option(name: .long, help: "The configuration file to write.") var out: String
    @Flag(name: .long, help: "Replace the file if it exists.") var force = false

    func validate() throws {
        guard NodeID.isValid(nodeID) else { throw ValidationError("--node-id '\(nodeID)' is not 1 to 64 letters, digits, '.', '_' or '-'") }
        if token != nil && parent == nil { throw ValidationError("--token is for registering with a parent: give --parent too") }
    }

    func run() async throws {
        let text: String
        do { text = try String(contentsOfFile: properties, encoding: .utf8) } catch {
            throw ValidationError("cannot read \(properties): \(error.localizedDescription)")
        }
        let database: String
        do { database = try OpenMRSRuntimeProperties(text: text).databaseURL() } catch {
            throw ValidationError("\(properties): \(error)")
        }
        if FileManager.default.fileExists(atPath: out) && !force {
            throw ValidationError("\(out) exists already (use --force to replace it)")
        }
        // The root serves children and accepts a token of its own making unless told otherwise.
        let isRoot = parent == nil
        let listenAddress = listen ?? (isRoot ? "0.0.0.0:8400" : nil)
        let acceptToken = isRoot ? Secrets.make() : nil
        let yaml = InitialConfiguration.yaml(nodeID: NodeID(nodeID), group: group, database: database, parentURL: parent, token: token,
                                             listen: listenAddress, acceptToken: acceptToken)
        _ = try NodeConfiguration.parse(yaml, source: out)
        try yaml.write(toFile: out, atomically: true, encoding: .utf8)
        chmod(out, 0o600)   // it holds the database password
        print("wrote \(out) for \(nodeID) (\(group)) on \(InitialConfiguration.redacted(database))")
        if let acceptToken { print("children register with the token: \(acceptToken)") }
        print("next: tributary start --config \(out)")
    }
}
