import ArgumentParser

@main
struct WorkerBeeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "workerbee",
        abstract: "Local text embeddings and vision OCR with llama.cpp, in a supervised worker process.",
        subcommands: [EmbedCommand.self, ModelsCommand.self, WorkerCommand.self]
    )
}
