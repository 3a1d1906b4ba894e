import Foundation

/// The hyper-parameters of a BERT config.json that llama.cpp needs.
struct BERTHyperParameters {
    let hiddenSize: Int
    let layerCount: Int
    let headCount: Int
    let intermediateSize: Int
    let contextLength: Int
    let layerNormEpsilon: Double
    let tokenTypeCount: Int
    let vocabularySize: Int

    init(config: [String: Any]) throws(GGUFError) {
        func int(_ key: String) throws(GGUFError) -> Int {
            guard let value = (config[key] as? NSNumber)?.intValue, value > 0 else {
                throw GGUFError(.invalidModel, "config.json has no positive integer \(key)")
            }
            return value
        }
        hiddenSize = try int("hidden_size")
        layerCount = try int("num_hidden_layers")
        headCount = try int("num_attention_heads")
        intermediateSize = try int("intermediate_size")
        contextLength = try int("max_position_embeddings")
        vocabularySize = try int("vocab_size")
        tokenTypeCount = (config["type_vocab_size"] as? NSNumber)?.intValue ?? 1
        layerNormEpsilon = (config["layer_norm_eps"] as? NSNumber)?.doubleValue ?? 1e-12
        guard hiddenSize % headCount == 0 else {
            throw GGUFError(.invalidModel, "config.json: hidden_size \(hiddenSize) is not a multiple of num_attention_heads \(headCount)")
        }
        let activation = config["hidden_act"] as? String ?? "gelu"
        guard activation == "gelu" else {
            throw GGUFError(.unsupportedArchitecture, "config.json: hidden_act \(activation) is not supported; llama.cpp's bert uses gelu")
        }
        if let positions = config["position_embedding_type"] as? String, positions != "absolute" {
            throw GGUFError(.unsupportedArchitecture, "config.json: position_embedding_type \(positions) is not supported; only absolute")
        }
    }
}
