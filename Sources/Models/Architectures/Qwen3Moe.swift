import Tensors

/// `Qwen3MoeForCausalLM` (Qwen3-30B-A3B, Qwen3-235B-A22B): Qwen3 attention (q/k RMSNorm per head);
/// layer i is a mixture of experts when i is not in `mlp_only_layers` and (i + 1) is a multiple of
/// `decoder_sparse_step`, else a dense MLP of `intermediate_size`. The router takes a softmax over
/// all experts and keeps the top `num_experts_per_tok`, renormalised when `norm_topk_prob`; there
/// is no shared expert.
enum Qwen3Moe {
    static func load(_ c: ModelConfig, _ weights: WeightLoader, maxPositions: Int) throws -> any CausalLM {
        let routing = ExpertRouting(topK: c.numExpertsPerTok, scoring: .softmax, normalize: c.normTopkProb)
        return try TransformerDecoder(config: c, weights: weights, attentionBias: c.attentionBias, qkNorm: true,
                                      maxPositions: maxPositions) { layer, prefix in
            let sparse = c.numExperts > 0 && !c.mlpOnlyLayers.contains(layer)
                && (layer + 1) % max(c.decoderSparseStep, 1) == 0
            return sparse
                ? .sparse(try SparseMoE(weights, prefix: prefix, config: c, routing: routing))
                : .dense(try GatedMLP(weights, prefix: prefix, hidden: c.hiddenSize, intermediate: c.intermediateSize))
        }
    }
}
