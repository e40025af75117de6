import Tensors

/// `Glm4MoeForCausalLM` (GLM-4.5, GLM-4.5-Air): q/k/v bias when `attention_bias`, q/k RMSNorm when
/// `use_qk_norm`, rotary embedding (rotate-half) over the first `partial_rotary_factor` of each head.
/// The first `first_k_dense_replace` layers have a dense MLP of `intermediate_size`; the others a
/// mixture of experts with a sigmoid router whose `e_score_correction_bias` steers the (grouped)
/// choice only, weights renormalised when `norm_topk_prob` and scaled by `routed_scaling_factor`,
/// plus `n_shared_experts` shared experts. Checkpoints carry `num_nextn_predict_layers`
/// multi-token-prediction layers after the last one (`model.layers.{num_hidden_layers}...`): they
/// serve speculative decoding only and are not loaded.
enum Glm4Moe {
    static func load(_ c: ModelConfig, _ weights: WeightLoader, maxPositions: Int) throws -> any CausalLM {
        let routing = ExpertRouting(topK: c.numExpertsPerTok, scoring: .sigmoid, normalize: c.normTopkProb,
                                    numGroups: c.nGroup, topKGroups: c.topkGroup, scale: Float(c.routedScalingFactor))
        return try TransformerDecoder(config: c, weights: weights, attentionBias: c.attentionBias, qkNorm: c.useQKNorm,
                                      maxPositions: maxPositions) { layer, prefix in
            layer < c.firstKDenseReplace
                ? .dense(try GatedMLP(weights, prefix: prefix, hidden: c.hiddenSize, intermediate: c.intermediateSize))
                : .sparse(try SparseMoE(weights, prefix: prefix, config: c, routing: routing, correctionBias: true,
                                        sharedExperts: c.numSharedExperts))
        }
    }
}
