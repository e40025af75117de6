extension ModelConfig {
    /// GGUF architectures Osprey maps onto Hugging Face ones.
    static let ggufArchitectures: [String: (architecture: String, modelType: String)] = [
        "llama": ("LlamaForCausalLM", "llama"),
        "qwen2": ("Qwen2ForCausalLM", "qwen2"),
        "qwen3": ("Qwen3ForCausalLM", "qwen3"),
        "qwen3moe": ("Qwen3MoeForCausalLM", "qwen3_moe"),
        "glm4moe": ("Glm4MoeForCausalLM", "glm4_moe"),
    ]

    /// The model's shape from GGUF metadata (`{arch}.block_count`, `{arch}.attention.head_count`, ...).
    public init(gguf: GGUFFile) throws {
        let meta = gguf.metadata
        guard let arch = gguf.architecture else {
            throw ModelError.invalidConfig(path: gguf.path, reason: "missing metadata 'general.architecture'")
        }
        guard let names = Self.ggufArchitectures[arch] else {
            throw ModelError.unsupportedArchitecture(arch, supported: Self.ggufArchitectures.keys.sorted())
        }
        func value(_ key: String) -> GGUFValue? { meta["\(arch).\(key)"] }
        func int(_ key: String) throws -> Int? {
            guard let v = value(key) else { return nil }
            // Some converters store per-layer arrays (e.g. head_count_kv); all layers agree for these models.
            if let i = v.int ?? v.ints?.first { return i }
            throw ModelError.invalidConfig(path: gguf.path, reason: "metadata '\(arch).\(key)' is not an integer")
        }
        func required(_ key: String) throws -> Int {
            guard let i = try int(key) else {
                throw ModelError.invalidConfig(path: gguf.path, reason: "missing metadata '\(arch).\(key)'")
            }
            return i
        }
        func double(_ key: String) throws -> Double? {
            guard let v = value(key) else { return nil }
            guard let d = v.float else {
                throw ModelError.invalidConfig(path: gguf.path, reason: "metadata '\(arch).\(key)' is not a number")
            }
            return d
        }

        let hidden = try required("embedding_length")
        let heads = try required("attention.head_count")
        guard heads > 0 else {
            throw ModelError.invalidConfig(path: gguf.path, reason: "metadata '\(arch).attention.head_count' is 0")
        }
        let headDim = try int("attention.key_length") ?? hidden / heads
        guard let vocab = try int("vocab_size") ?? meta["tokenizer.ggml.tokens"]?.array?.count else {
            throw ModelError.invalidConfig(path: gguf.path, reason: "missing metadata '\(arch).vocab_size' and 'tokenizer.ggml.tokens'")
        }
        let maxPositions = try required("context_length")
        let ropeDims = try int("rope.dimension_count")
        var scaling = RopeScaling.none
        switch meta["\(arch).rope.scaling.type"]?.string {
        case "linear":
            scaling = .linear(factor: try double("rope.scaling.factor") ?? 1)
        case "yarn":
            scaling = .yarn(factor: try double("rope.scaling.factor") ?? 1,
                            originalMaxPositions: try int("rope.scaling.original_context_length") ?? maxPositions,
                            betaFast: 32, betaSlow: 1, mscale: 1, mscaleAllDim: 0)
        default:
            if let freqs = try? gguf.tensor("rope_freqs.weight"), freqs.dtype == .f32 {
                let factors = (0 ..< freqs.count).map { freqs.bytes.loadUnaligned(fromByteOffset: $0 * 4, as: Float.self) }
                scaling = RopeScaling.llama3(fromFrequencyFactors: factors, ropeTheta: try double("rope.freq_base") ?? 10_000) ?? .none
            }
        }
        var eos: [Int] = []
        for key in ["tokenizer.ggml.eos_token_id", "tokenizer.ggml.eot_token_id"] {
            if let id = meta[key]?.int, !eos.contains(id) { eos.append(id) }
        }
        let isQwen3 = arch == "qwen3" || arch == "qwen3moe"
        let isMoE = arch == "qwen3moe" || arch == "glm4moe"
        // llama.cpp counts GLM's multi-token-prediction layers in block_count; they come last.
        let nextnLayers = try int("nextn_predict_layers") ?? 0
        let layers = try required("block_count") - nextnLayers
        // Qwen3-MoE layers without a router are dense (mlp_only_layers / decoder_sparse_step).
        let denseLayers = arch == "qwen3moe" ? (0 ..< layers).filter { gguf.info("blk.\($0).ffn_gate_inp.weight") == nil } : []

        self.init(
            architecture: names.architecture,
            modelType: names.modelType,
            vocabSize: vocab,
            hiddenSize: hidden,
            // Dense models need it; a MoE model may give only expert_feed_forward_length.
            intermediateSize: isMoE ? try int("feed_forward_length") ?? 0 : try required("feed_forward_length"),
            numHiddenLayers: layers,
            numAttentionHeads: heads,
            numKeyValueHeads: try int("attention.head_count_kv") ?? heads,
            headDim: headDim,
            rmsNormEps: try double("attention.layer_norm_rms_epsilon") ?? 1e-6,
            ropeTheta: try double("rope.freq_base") ?? 10_000,
            ropeScaling: scaling,
            partialRotaryFactor: ropeDims.map { headDim > 0 ? Double($0) / Double(headDim) : 1 } ?? 1,
            maxPositionEmbeddings: maxPositions,
            tieWordEmbeddings: gguf.info("output.weight") == nil,
            attentionBias: arch == "qwen2" || gguf.info("blk.0.attn_q.bias") != nil,
            torchDtype: nil,
            bosTokenId: meta["tokenizer.ggml.bos_token_id"]?.int,
            eosTokenIds: eos,
            numExperts: try int("expert_count") ?? 0,
            numExpertsPerTok: try int("expert_used_count") ?? 0,
            moeIntermediateSize: try int("expert_feed_forward_length") ?? 0,
            normTopkProb: value("expert_weights_norm")?.bool ?? isMoE,
            mlpOnlyLayers: denseLayers,
            numSharedExperts: try int("expert_shared_count") ?? 0,
            firstKDenseReplace: try int("leading_dense_block_count") ?? 0,
            nGroup: try int("expert_group_count") ?? 1,
            topkGroup: try int("expert_group_used_count") ?? 1,
            routedScalingFactor: try double("expert_weights_scale") ?? 1,
            useQKNorm: isQwen3 || gguf.info("blk.0.attn_q_norm.weight") != nil,
            numNextnPredictLayers: nextnLayers)
    }
}
