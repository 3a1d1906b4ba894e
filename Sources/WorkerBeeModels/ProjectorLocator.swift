import Foundation
import GGUF

/// Finds the vision projector (`mmproj`) that belongs to a vision model:
/// an explicit path wins; otherwise a `*mmproj*.gguf` beside the model (one whose name starts with
/// the model's, else the first sorted by name);
/// otherwise, for a model in a Hugging Face cache (`.../blobs/<hash>`), the first `*mmproj*.gguf`
/// in the sibling `snapshots/*/` folders.
public enum ProjectorLocator {
    /// Returns the projector for `model`.
    /// - Parameters:
    ///   - model: the text model file.
    ///   - explicit: a projector path given by the user, if any.
    /// - Throws: ``GGUFError`` `.missing`, naming every place it looked.
    public static func projector(for model: URL, explicit: String? = nil) throws(GGUFError) -> URL {
        let fm = FileManager.default
        if let explicit, !explicit.isEmpty {
            let url = URL(fileURLWithPath: (explicit as NSString).expandingTildeInPath)
            guard fm.fileExists(atPath: url.path) else {
                throw GGUFError(.missing, "the vision projector \(url.path) does not exist")
            }
            return url
        }
        var looked: [String] = []
        let folder = model.deletingLastPathComponent()
        looked.append("\(folder.path)/*mmproj*.gguf")
        if let found = firstProjector(in: folder, excluding: model) { return found }
        if folder.lastPathComponent == "blobs" {
            let snapshots = folder.deletingLastPathComponent().appendingPathComponent("snapshots")
            looked.append("\(snapshots.path)/*/*mmproj*.gguf")
            let revisions = ((try? fm.contentsOfDirectory(atPath: snapshots.path)) ?? []).sorted()
            for revision in revisions {
                if let found = firstProjector(in: snapshots.appendingPathComponent(revision), excluding: model) { return found }
            }
        }
        throw GGUFError(.missing, "no vision projector (mmproj) found for \(model.lastPathComponent); looked in \(looked.joined(separator: " and ")); pass one explicitly")
    }

    /// The projector in `folder`: one named after the model (`<model>.mmproj.gguf`, as `models
    /// pull` names it, or `<model>*mmproj*.gguf`) first, else the first `*mmproj*.gguf`.
    private static func firstProjector(in folder: URL, excluding model: URL) -> URL? {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []).sorted()
        let projectors = names.filter { $0.lowercased().contains("mmproj") && $0.hasSuffix(".gguf") && $0 != model.lastPathComponent }
        let stem = model.deletingPathExtension().lastPathComponent
        return (projectors.first { $0.hasPrefix(stem) } ?? projectors.first).map { folder.appendingPathComponent($0) }
    }
}
