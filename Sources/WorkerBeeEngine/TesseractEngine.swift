import Foundation
import WorkerBeeWire
import WorkerBeeImages

/// Tesseract OCR inside the worker, through its C API, loaded at run time.
///
/// libtesseract (and Leptonica, which decodes the image) are opened with `dlopen` when the first
/// page is read, so nothing is needed to build WorkerBee or to run it without OCR; a worker that
/// is asked for Tesseract without it answers `.engineUnavailable` naming what to install. A crash
/// inside Tesseract or Leptonica on a hostile image takes the worker down like any other native
/// crash: the host sees it, restarts the worker and reports it.
///
/// One Tesseract instance per worker is kept and reused across pages while the language stays the
/// same. `WORKERBEE_TESSERACT_LIBRARY` and `WORKERBEE_LEPTONICA_LIBRARY` name other library files.
final class TesseractEngine {
    private typealias Create = @convention(c) () -> OpaquePointer?
    private typealias Delete = @convention(c) (OpaquePointer?) -> Void
    private typealias Init = @convention(c) (OpaquePointer?, UnsafePointer<CChar>?, UnsafePointer<CChar>?) -> Int32
    private typealias SetPageSegMode = @convention(c) (OpaquePointer?, Int32) -> Void
    private typealias SetImage = @convention(c) (OpaquePointer?, OpaquePointer?) -> Void
    private typealias GetText = @convention(c) (OpaquePointer?) -> UnsafeMutablePointer<CChar>?
    private typealias MeanConfidence = @convention(c) (OpaquePointer?) -> Int32
    private typealias DeleteText = @convention(c) (UnsafeMutablePointer<CChar>?) -> Void
    private typealias Languages = @convention(c) (OpaquePointer?) -> UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
    private typealias DeleteTextArray = @convention(c) (UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Void
    private typealias ReadImage = @convention(c) (UnsafePointer<UInt8>?, Int) -> OpaquePointer?
    private typealias DestroyImage = @convention(c) (UnsafeMutablePointer<OpaquePointer?>?) -> Void

    private let create: Create, delete: Delete, initialise: Init, setPageSegMode: SetPageSegMode, setImage: SetImage
    private let getText: GetText, meanConfidence: MeanConfidence, deleteText: DeleteText
    private let languages: Languages, deleteTextArray: DeleteTextArray
    private let readImage: ReadImage, destroyImage: DestroyImage
    private var handle: OpaquePointer?
    private var language: String?

    /// `PSM_AUTO` of Tesseract's `TessPageSegMode`: page layout analysis without orientation
    /// detection.
    static let automaticPageSegmentation: Int32 = 3

    /// The largest image read, in pixels, checked from the header before Leptonica allocates it.
    static let maximumPixels = 150_000_000

    /// What to install, for the error when the libraries or a language are missing.
    static let installHint = "install Tesseract (Debian: apt-get install tesseract-ocr tesseract-ocr-eng; macOS: brew install tesseract)"

    /// Opens libtesseract and Leptonica.
    /// - Throws: ``EngineError`` `.engineUnavailable` naming the library that is missing.
    init() throws {
        let environment = ProcessInfo.processInfo.environment
        let tesseract = try Self.open(environment["WORKERBEE_TESSERACT_LIBRARY"].map { [$0] } ?? ["libtesseract.so.5", "libtesseract.so", "libtesseract.5.dylib", "libtesseract.dylib", "/opt/homebrew/lib/libtesseract.dylib", "/usr/local/lib/libtesseract.dylib"])
        let leptonica = try Self.open(environment["WORKERBEE_LEPTONICA_LIBRARY"].map { [$0] } ?? ["liblept.so.5", "libleptonica.so.6", "libleptonica.so", "liblept.so", "libleptonica.dylib", "/opt/homebrew/lib/libleptonica.dylib", "/usr/local/lib/libleptonica.dylib"])
        func symbol<T>(_ library: UnsafeMutableRawPointer, _ name: String, as: T.Type) throws -> T {
            guard let pointer = dlsym(library, name) else {
                throw EngineError(.engineUnavailable, "the Tesseract library has no \(name); \(Self.installHint)")
            }
            return unsafeBitCast(pointer, to: T.self)
        }
        create = try symbol(tesseract, "TessBaseAPICreate", as: Create.self)
        delete = try symbol(tesseract, "TessBaseAPIDelete", as: Delete.self)
        initialise = try symbol(tesseract, "TessBaseAPIInit3", as: Init.self)
        setPageSegMode = try symbol(tesseract, "TessBaseAPISetPageSegMode", as: SetPageSegMode.self)
        setImage = try symbol(tesseract, "TessBaseAPISetImage2", as: SetImage.self)
        getText = try symbol(tesseract, "TessBaseAPIGetUTF8Text", as: GetText.self)
        meanConfidence = try symbol(tesseract, "TessBaseAPIMeanTextConf", as: MeanConfidence.self)
        deleteText = try symbol(tesseract, "TessDeleteText", as: DeleteText.self)
        languages = try symbol(tesseract, "TessBaseAPIGetAvailableLanguagesAsVector", as: Languages.self)
        deleteTextArray = try symbol(tesseract, "TessDeleteTextArray", as: DeleteTextArray.self)
        readImage = try symbol(leptonica, "pixReadMem", as: ReadImage.self)
        destroyImage = try symbol(leptonica, "pixDestroy", as: DestroyImage.self)
    }

    deinit {
        if let handle { delete(handle) }
    }

    private static func open(_ names: [String]) throws -> UnsafeMutableRawPointer {
        for name in names {
            if let library = dlopen(name, RTLD_NOW | RTLD_LOCAL) { return library }
        }
        throw EngineError(.engineUnavailable, "Tesseract OCR is not installed (no \(names[0]) could be loaded); \(installHint)")
    }

    /// Reads the text in a PNG, JPEG, TIFF or other image Leptonica decodes.
    /// - Parameters:
    ///   - image: the encoded image.
    ///   - language: Tesseract languages joined by `+` (`eng`, `eng+deu`).
    /// - Throws: ``EngineError`` `.engineUnavailable` for a missing language (listing the
    ///   installed ones), `.invalidInput` for an empty image, one over ``maximumPixels`` or one
    ///   Leptonica cannot decode.
    func read(image: [UInt8], language requested: String) throws -> RecognizedText {
        if image.isEmpty { throw EngineError(.invalidInput, "the image is empty (0 bytes)") }
        if let header = ImageHeader(image), header.width <= 0 || header.height <= 0 || header.width * header.height > Self.maximumPixels {
            throw EngineError(.invalidInput, "the \(header.format.rawValue) image is \(header.width) x \(header.height) pixels; the limit is \(Self.maximumPixels / 1_000_000) megapixels (an A0 page at 300 DPI is 140)")
        }
        let language = requested.isEmpty ? "eng" : requested
        if self.language != language || handle == nil {
            if let handle { delete(handle) }
            handle = nil
            self.language = nil
            guard let created = create() else { throw EngineError(.internal, "Tesseract could not create an instance") }
            guard initialise(created, nil, language) == 0 else {
                let installed = installedLanguages(created)
                delete(created)
                throw EngineError(
                    .engineUnavailable,
                    "Tesseract has no data for language \(language) (installed: \(installed.isEmpty ? "none" : installed.joined(separator: ", "))); install it, e.g. apt-get install tesseract-ocr-\(language.split(separator: "+").first ?? "eng")")
            }
            // The library's default is one uniform block of text (PSM_SINGLE_BLOCK), which reads
            // the lines of side-by-side columns as one; the tesseract command's default is full
            // page layout analysis (PSM_AUTO, 3), and so is ours.
            setPageSegMode(created, Self.automaticPageSegmentation)
            handle = created
            self.language = language
        }
        var pix = image.withUnsafeBufferPointer { readImage($0.baseAddress, $0.count) }
        guard pix != nil else {
            throw EngineError(.invalidInput, "the image could not be decoded (\(image.count) bytes; PNG, JPEG, TIFF, BMP, GIF and WebP are read)")
        }
        defer { destroyImage(&pix) }
        setImage(handle, pix)
        guard let text = getText(handle) else { throw EngineError(.inferenceFailed, "Tesseract returned no text") }
        defer { deleteText(text) }
        return RecognizedText(text: String(cString: text), confidence: Int(meanConfidence(handle)))
    }

    private func installedLanguages(_ instance: OpaquePointer?) -> [String] {
        // Available languages are known only after an Init; one with "osd" or none may work.
        guard let list = languages(instance) else { return [] }
        defer { deleteTextArray(list) }
        var names: [String] = []
        var index = 0
        while let name = list[index] {
            names.append(String(cString: name))
            index += 1
        }
        return names
    }
}
