/// `general.file_type` values (llama_ftype) this project writes.
public enum GGUFFileType: Int, Sendable {
    case allF32 = 0
    case mostlyF16 = 1
    case mostlyBF16 = 32

    /// A short name for display.
    public var name: String {
        switch self {
        case .allF32: "F32"
        case .mostlyF16: "F16"
        case .mostlyBF16: "BF16"
        }
    }
}
