import ArgumentParser
import Logging

@main
struct Tributary: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tributary",
        abstract: "Database-level synchronization for OpenMRS sites.",
        subcommands: [DemoCommand.self, InitCommand.self, LoadOpenMRSCommand.self, StartCommand.self, SyncCommand.self, StatusCommand.self, TablesCommand.self, CaptureCommand.self, ChangesCommand.self, RegistrationsCommand.self, NodesCommand.self, PurgeCommand.self, ReloadCommand.self, ExportCommand.self, ImportCommand.self, ConflictsCommand.self])
}

/// Options every command that works on a node shares.
struct NodeOptions: ParsableArguments {
    @Option(name: .long, help: "The node's configuration file (YAML).")
    var config: String
}

func makeLogger(_ label: String) -> Logger {
    var logger = Logger(label: label)
    logger.logLevel = .warning
    return logger
}
