/// How far an OCR reading is from the text that was on the page: the character error rate used
/// by the evaluation benchmark and the OCR tests.
public enum TextComparison {
    /// `text` as OCR output is judged: runs of white space count as one space, none at the ends.
    public static func normalized(_ text: String) -> [Character] {
        Array(text.split(whereSeparator: { $0.isWhitespace }).joined(separator: " "))
    }

    /// The Levenshtein distance between `reading` and `reference` (insertions, deletions and
    /// substitutions of characters), after ``normalized(_:)``.
    public static func characterErrors(_ reading: String, reference: String) -> Int {
        let a = normalized(reading), b = normalized(reference)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previous = Array(0...b.count), current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            swap(&previous, &current)
        }
        return previous[b.count]
    }

    /// ``characterErrors(_:reference:)`` over the normalized reference's length.
    public static func characterErrorRate(_ reading: String, reference: String) -> Double {
        Double(characterErrors(reading, reference: reference)) / Double(max(normalized(reference).count, 1))
    }
}
