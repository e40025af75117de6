/// `LlamaForCausalLM` (Llama 2/3, SmolLM2, Mistral-style dense models): no q/k/v bias unless
/// `attention_bias`, no q/k norm.
enum Llama {
    static func load(_ config: ModelConfig, _ weights: WeightLoader, maxPositions: Int) throws -> any CausalLM {
        try TransformerDecoder(config: config, weights: weights, attentionBias: config.attentionBias, qkNorm: false,
                               maxPositions: maxPositions)
    }
}
