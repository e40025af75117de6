/// `Qwen3ForCausalLM`: RMSNorm over each head of q and k before the rotary embedding, no q/k/v
/// bias unless `attention_bias`, `head_dim` independent of hidden_size / heads.
enum Qwen3 {
    static func load(_ config: ModelConfig, _ weights: WeightLoader, maxPositions: Int) throws -> any CausalLM {
        try TransformerDecoder(config: config, weights: weights, attentionBias: config.attentionBias, qkNorm: true,
                               maxPositions: maxPositions)
    }
}
