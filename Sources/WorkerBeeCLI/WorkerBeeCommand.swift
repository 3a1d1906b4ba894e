import ArgumentParser
import Foundation
import Logging
import WorkerBeeEngine

@main
struct WorkerBeeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "workerbee",
        abstract: "Local text embeddings and vision OCR with llama.cpp, in a supervised worker process.",
        discussion: "workerbee --version names the release and the llama.cpp it links. Set WORKERBEE_LOG_LEVEL (trace, debug, info, warning, error) to see supervision events on stderr.",
        subcommands: [EmbedCommand.self, RerankCommand.self, ServeCommand.self, OCRCommand.self, ModelsCommand.self, BenchCommand.self, WorkerCommand.self]
    )

    /// This release of WorkerBee.
    static let version = "0.5.0"

    /// What `--version` prints: the release, the llama.cpp it links and what that build uses.
    static var versionText: String {
        "workerbee \(version)\nllama.cpp: \(LlamaRuntime.library)\nWorkerBee patches: \(LlamaRuntime.patches.isEmpty ? "none" : LlamaRuntime.patches.sorted().joined(separator: ", "))\n\(LlamaRuntime.systemInfo)"
    }

    static func main() async {
        // Handled here, not through the configuration's `version`: that would load llama.cpp's
        // backends at the start of every command (the worker's included) just to build the text.
        if CommandLine.arguments.dropFirst().first == "--version" {
            print(versionText)
            return
        }
        // stdout carries results (JSON lines), so every log line goes to stderr.
        // A server logs each request (its access log); the other commands only what goes wrong.
        let serving = CommandLine.arguments.dropFirst().first == "serve"
        let level = ProcessInfo.processInfo.environment["WORKERBEE_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? (serving ? .info : .warning)
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        await Self.main(nil)
    }
}
