/// The cosine of the angle between two vectors (1 for the same direction); 0 if either is all zeros.
public func cosineSimilarity(_ a: [Float], _ b: [Float]) -> Double {
    var dot = 0.0, normA = 0.0, normB = 0.0
    for (x, y) in zip(a, b) {
        dot += Double(x) * Double(y)
        normA += Double(x) * Double(x)
        normB += Double(y) * Double(y)
    }
    let denominator = (normA * normB).squareRoot()
    return denominator > 0 ? dot / denominator : 0
}
