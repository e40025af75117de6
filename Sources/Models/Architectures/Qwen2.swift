/// `Qwen2ForCausalLM` (Qwen2, Qwen2.5, DeepSeek-R1-Distill-Qwen): q/k/v projections always carry a
/// bias; the output projection does not.
enum Qwen2 {
    static func load(_ config: ModelConfig, _ weights: WeightLoader, maxPositions: Int) throws -> any CausalLM {
        try TransformerDecoder(config: config, weights: weights, attentionBias: true, qkNorm: false, maxPositions: maxPositions)
    }
}
