import Foundation
import GGUF
import Synchronization
import WorkerBee

/// The prompts of the models the server serves: read from each model's GGUF the first time a
/// request needs them (again when the file changes), with the server's `--prompt NAME=TEXT`
/// added or overriding.
final class PromptBook: Sendable {
    private let directory: ModelDirectory
    private let overrides: [String: String]
    private let cache = Mutex<[String: (modified: Date, prompts: ModelPrompts)]>([:])

    init(directory: ModelDirectory, overrides: [String: String]) {
        self.directory = directory
        self.overrides = overrides
    }

    /// The prompts of `model`, overrides included.
    func prompts(of model: ModelReference) -> ModelPrompts {
        let url = directory.resolve(model)
        let modified = (try? FileManager.default.attributesOfItem(atPath: url.path)[.modificationDate] as? Date) ?? .distantPast
        var prompts = cache.withLock { $0[url.path] }.flatMap { $0.modified == modified ? $0.prompts : nil }
        if prompts == nil {
            let read = (try? GGUFFile(contentsOf: url)).map(ModelPrompts.init(gguf:)) ?? ModelPrompts()
            cache.withLock { $0[url.path] = (modified, read) }
            prompts = read
        }
        var all = prompts!
        all.prompts.merge(overrides) { _, override in override }
        return all
    }

    /// The text to put before each input of a request for `model`.
    /// - Throws: ``APIError`` 400 when the request names a prompt the model does not have.
    func text(for model: ModelReference, name: String?, inputType: String?) throws -> String {
        do {
            return try prompts(of: model).text(name: name, inputType: inputType)
        } catch {
            throw APIError.badRequest("\(error.message.replacingOccurrences(of: "the model", with: "model \(model)"))", param: name != nil ? "prompt_name" : "input_type")
        }
    }
}
