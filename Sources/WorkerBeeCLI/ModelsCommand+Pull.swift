import ArgumentParser
import Foundation
import GGUF
import WorkerBeeWire
import WorkerBeeHub
import WorkerBeeModels

extension ModelsCommand {
    struct Pull: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Download a model from the Hugging Face Hub into its cache and make it a model name here.",
            discussion: """
                REPO:FILE picks a GGUF file, REPO:QUANT (e.g. nomic-ai/nomic-embed-text-v1.5-GGUF:Q8_0) the \
                file with that quantization; a repository with one GGUF file needs neither, and with \
                several the choices are listed. A vision model's mmproj file comes along. A \
                sentence-transformers repository (safetensors, BERT family) is downloaded and converted \
                to GGUF, as `models import` does. Files go to the Hub's cache ($HF_HUB_CACHE, $HF_HOME/hub \
                or ~/.cache/huggingface/hub), shared with Python tools; an interrupted download continues \
                where it stopped; LFS files are checked against the SHA-256 the Hub announces. HF_TOKEN \
                is sent for gated or private repositories, HF_ENDPOINT names another Hub, HF_HUB_OFFLINE=1 \
                uses only the cache. See docs/MODELS.md.
                """)

        @Argument(help: "ORG/NAME, ORG/NAME:FILE.gguf or ORG/NAME:QUANT.")
        var reference: String

        @Option(help: "Branch, tag or commit.")
        var revision: String = "main"

        @Option(help: "Model name here (default: the GGUF file's name, lowercased, without .gguf; for a sentence-transformers repository, NAME lowercased).")
        var name: String?

        @Option(help: "Weight type when converting a sentence-transformers repository: auto (measured on this CPU, see models import), f16, bf16 or f32.")
        var type: ConversionType = .auto

        @Option(help: "Models folder (default: $WORKERBEE_HOME/models).")
        var modelsDir: String?

        func validate() throws {
            let repository = reference.split(separator: ":", maxSplits: 1).first.map(String.init) ?? ""
            guard repository.split(separator: "/", omittingEmptySubsequences: false).count == 2, !repository.hasPrefix("/"), !repository.hasSuffix("/") else {
                throw ValidationError("give the repository as ORG/NAME, e.g. nomic-ai/nomic-embed-text-v1.5-GGUF:Q8_0")
            }
            if let name, name.isEmpty || name.contains("/") { throw ValidationError("--name must be a plain name without slashes") }
        }

        func run() async throws {
            let parts = reference.split(separator: ":", maxSplits: 1).map(String.init)
            let repository = parts[0], selector = parts.count > 1 ? parts[1] : nil
            let hub = HubClient(userAgent: "workerbee/\(WorkerBeeCommand.version)", progress: .standardError(interactive: isatty(STDERR_FILENO) != 0))
            let files = try await files(of: repository, hub: hub)
            let models = modelsDirectory(modelsDir)
            try FileManager.default.createDirectory(at: models.url, withIntermediateDirectories: true)
            let ggufs = files.filter { $0.lowercased().hasSuffix(".gguf") }
            if !ggufs.isEmpty {
                let choice: (model: String, projector: String?)
                do {
                    choice = try Self.choose(from: ggufs, selector: selector, repository: repository)
                } catch let error as HubError where hub.offline {
                    throw HubError(error.code, error.message + "\n(HF_HUB_OFFLINE is set: only the files already in the cache were looked at)")
                }
                let (model, projector) = choice
                let modelFile = try await hub.fetch(model, of: repository, revision: revision)
                let modelName = name ?? URL(fileURLWithPath: model).deletingPathExtension().lastPathComponent.lowercased()
                let link = try Self.link(models.url.appendingPathComponent(modelName + ".gguf"), to: modelFile)
                if let projector {
                    let projectorFile = try await hub.fetch(projector, of: repository, revision: revision)
                    _ = try Self.link(models.url.appendingPathComponent(modelName + ".mmproj.gguf"), to: projectorFile)
                    printError("with its projector \(projector)")
                }
                printError("pulled \(repository):\(model) as \(modelName) (also usable as hf:\(repository):\(model))")
                print(link.path)
            } else if files.contains("config.json"), files.contains("model.safetensors") {
                let needed = files.filter { $0 == "model.safetensors" || (!$0.contains("/") && $0.hasSuffix(".json")) || ($0.contains("Pooling") && $0.hasSuffix("/config.json")) }
                var snapshot: URL?
                for file in needed {
                    let fetched = try await hub.fetch(file, of: repository, revision: revision)
                    if file == "config.json" { snapshot = fetched.deletingLastPathComponent() }
                }
                guard let snapshot else { throw HubError(.server, "config.json did not arrive") }
                let modelName = name ?? String(repository.split(separator: "/").last ?? "").lowercased()
                let output = models.resolve(modelName)
                let (report, chosen) = try type.convert(directory: snapshot, to: output, name: modelName)
                for note in report.notes { printError("note: \(note)") }
                printError("converted \(repository) to \(modelName) (\(chosen.rawValue.uppercased()), \(report.tensorCount) tensors, \(ByteSize.describe(report.byteCount)))")
                print(output.path)
            } else {
                throw HubError(.notFound, "\(repository) has no GGUF file and is not a sentence-transformers model (no config.json with model.safetensors); its files: \(files.prefix(20).joined(separator: ", "))")
            }
        }

        /// The repository's files at the revision: from the Hub, or offline from the cached
        /// snapshot.
        private func files(of repository: String, hub: HubClient) async throws -> [String] {
            guard hub.offline else { return try await hub.listing(of: repository, revision: revision).files }
            guard let commit = hub.cache.commit(of: repository, revision: revision) else {
                throw HubError(.offline, "HF_HUB_OFFLINE is set and \(repository) (\(revision)) is not in the cache \(hub.cache.url.path)")
            }
            let snapshot = hub.cache.folder(of: repository).appendingPathComponent("snapshots").appendingPathComponent(commit)
            let walker = FileManager.default.enumerator(atPath: snapshot.path)
            return (walker?.allObjects as? [String] ?? []).filter { !$0.hasSuffix("/") }.sorted()
        }

        /// The model file `selector` picks (a file name, a quantization tag, or nothing when
        /// there is one model file) and the projector that comes with it.
        static func choose(from ggufs: [String], selector: String?, repository: String) throws -> (model: String, projector: String?) {
            let isProjector = { (path: String) in path.lowercased().contains("mmproj") }
            let models = ggufs.filter { !isProjector($0) }
            let projectors = ggufs.filter(isProjector)
            let projector = projectors.first { $0.lowercased().contains("f16") } ?? projectors.first
            let candidates: [String]
            if let selector, selector.lowercased().hasSuffix(".gguf") {
                candidates = ggufs.filter { $0 == selector || $0.split(separator: "/").last.map(String.init) == selector }
            } else if let selector {
                let tag = selector.lowercased()
                candidates = models.filter { path in
                    let file = path.lowercased()
                    guard let range = file.range(of: tag) else { return false }
                    let before = range.lowerBound == file.startIndex ? nil : file[file.index(before: range.lowerBound)]
                    let after = range.upperBound == file.endIndex ? nil : file[range.upperBound]
                    let boundary = { (character: Character?) in character.map { !$0.isLetter && !$0.isNumber && $0 != "_" } ?? true }
                    return boundary(before) && boundary(after)
                }
            } else {
                candidates = models
            }
            guard candidates.count == 1, let model = candidates.first else {
                let choices = models.map { "  \(repository):\($0)" }.joined(separator: "\n")
                if candidates.isEmpty {
                    throw HubError(.ambiguous, "\(repository) has no GGUF file matching \(selector ?? ""); its GGUF files:\n\(choices)")
                }
                throw HubError(.ambiguous, "\(repository) has \(candidates.count) GGUF files\(selector.map { " matching \($0)" } ?? ""); pick one:\n\(candidates.map { "  \(repository):\($0)" }.joined(separator: "\n"))")
            }
            return (model, isProjector(model) ? nil : projector)
        }

        /// Points `link` at `target` (replacing an older link, never a real file).
        static func link(_ link: URL, to target: URL) throws -> URL {
            let manager = FileManager.default
            if (try? manager.destinationOfSymbolicLink(atPath: link.path)) != nil {
                try manager.removeItem(at: link)
            } else if manager.fileExists(atPath: link.path) {
                throw ValidationError("\(link.path) already exists and is not a pulled model; choose another --name")
            }
            try manager.createSymbolicLink(at: link, withDestinationURL: target)
            return link
        }
    }
}
