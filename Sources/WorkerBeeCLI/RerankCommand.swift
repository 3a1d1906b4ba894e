import ArgumentParser
import Foundation
import WorkerBee
import WorkerBeeModels

struct RerankCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rerank",
        abstract: "Score documents against a query with a reranker and print them best first.",
        discussion: """
            Documents come from the arguments, or from --input FILE (or stdin when there are no \
            arguments), one per line: JSON strings, JSON objects whose --text-field holds the text, \
            or plain lines with --lines. A score is the model's probability that the document is \
            relevant (0 to 1, the sigmoid of its logit); --raw-scores prints the logit. A document \
            that makes the pair longer than the model's context is cut at its end (and noted). \
            Example: workerbee rerank --model ms-marco-minilm --query "what is a bee?" "Bees make honey." "Paris is in France."
            """
    )

    @Argument(help: "Documents to score.")
    var documents: [String] = []

    @Option(name: .shortAndLong, help: "The query the documents are scored against.")
    var query: String

    @Option(help: "Print only the N best documents.")
    var topN: Int?

    @Flag(help: "Print one JSON object per line: {\"index\": i, \"score\": s}, best first.")
    var json = false

    @Flag(help: "Print the model's logits instead of probabilities.")
    var rawScores = false

    @OptionGroup var source: TextInputOptions

    @OptionGroup var embedding: EmbeddingOptions

    func validate() throws {
        try source.validate(arguments: documents, noun: "documents")
        if let topN, topN < 1 { throw ValidationError("--top-n must be at least 1") }
        if query.isEmpty { throw ValidationError("--query cannot be empty") }
    }

    func run() async throws {
        let models = modelsDirectory(embedding.modelsDir)
        let catalog = ModelCatalog(folder: models)
        if let why = catalog.whyCannotRerank(embedding.model) {
            let rerankers = catalog.rerankers().map(\.name)
            let hint = rerankers.isEmpty ? "no reranker is installed (docs/MODELS.md says how to get one)" : "rerankers here: \(rerankers.joined(separator: ", "))"
            throw ValidationError("--model \(embedding.model): \(why); \(hint)")
        }
        let items = source.items(arguments: documents)
        var texts: [String] = []
        for try await item in items { texts.append(item.text) }
        guard !texts.isEmpty else { throw ValidationError("no documents: give them as arguments or with --input") }
        let configuration = WorkerConfiguration(models: .init(directory: models.url, embedding: ModelReference(embedding.model)), engine: embedding.engine)
        let pool = WorkerPool(configuration: configuration, processes: embedding.workers, threadsPerProcess: embedding.threads)
        let rankings: Rerankings
        do {
            rankings = try await pool.rerank(query, documents: texts)
        } catch {
            await pool.stop()
            throw error
        }
        await pool.stop()
        if rankings.labels > 1 {
            throw ValidationError("--model \(embedding.model) is a classifier with \(rankings.labels) labels, not a reranker with one relevance score")
        }
        for (index, score) in rankings.ranked.prefix(topN ?? texts.count) {
            let shown = rawScores ? score : Rerankings.probability(ofLogit: score)
            if json {
                print(#"{"index":\#(index),"score":\#(shown)}"#)
            } else {
                let text = texts[index].replacingOccurrences(of: "\n", with: " ")
                print(String(format: "%9.5f  %4d  ", shown, index) + (text.count > 100 ? String(text.prefix(99)) + "…" : text))
            }
        }
        let truncated = rankings.truncated.filter { $0 }.count
        if truncated > 0 { printError("note: \(truncated) document(s) made the pair longer than the model's context and were cut") }
        let repaired = items.repairedCount
        if repaired > 0 { printError("note: \(repaired) line(s) were not valid UTF-8; their bad bytes were replaced by U+FFFD") }
    }
}
