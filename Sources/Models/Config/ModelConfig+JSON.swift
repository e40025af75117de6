import Foundation

extension ModelConfig {
    /// Reads a Hugging Face `config.json`.
    public init(contentsOf url: URL) throws {
        try self.init(data: ModelError.read(url), path: url.path)
    }

    /// Parses the text of a `config.json`; `path` names it in errors.
    public init(data: Data, path: String = "config.json") throws {
        let json = try JSONFields(JSONValue.parse(data, path: path), path: path)
        try self.init(json: json)
    }

    init(json: JSONFields) throws {
        let declaredArchitecture = try json.strings("architectures")?.first
        let declaredType = try json.string("model_type")
        guard let architecture = declaredArchitecture ?? declaredType.flatMap(ModelTypeDefaults.architecture(forModelType:)) else {
            throw json.missing("architectures")
        }
        let modelType = declaredType ?? ModelTypeDefaults.modelType(forArchitecture: architecture)
        let defaults = ModelTypeDefaults(modelType: modelType)

        let hiddenSize = try json.requiredInt("hidden_size")
        let numHeads = try json.requiredInt("num_attention_heads")
        guard numHeads > 0 else {
            throw ModelError.invalidConfig(path: json.path, reason: "field 'num_attention_heads' must be positive")
        }
        // transformers 5.x moved rope settings into `rope_parameters`; 4.x has `rope_theta` + `rope_scaling`.
        // Models with several attention kinds nest them per layer type; ours rotate in full attention.
        let ropeParameters = try json.object("rope_parameters").flatMap { try $0.object("full_attention") ?? $0 }
        let ropeScalingFields = try json.object("rope_scaling") ?? ropeParameters
        let maxPositions = try json.int("max_position_embeddings") ?? defaults.maxPositionEmbeddings
        let ropeTheta = try json.double("rope_theta") ?? ropeParameters?.double("rope_theta") ?? 10_000
        let ropeScaling = try ropeScalingFields.map { try RopeScaling(fields: $0, maxPositionEmbeddings: maxPositions) } ?? .none
        let partialRotary = try json.double("partial_rotary_factor")
            ?? ropeParameters?.double("partial_rotary_factor") ?? defaults.partialRotaryFactor

        self.init(
            architecture: architecture,
            modelType: modelType,
            vocabSize: try json.requiredInt("vocab_size"),
            hiddenSize: hiddenSize,
            intermediateSize: try json.requiredInt("intermediate_size"),
            numHiddenLayers: try json.requiredInt("num_hidden_layers"),
            numAttentionHeads: numHeads,
            numKeyValueHeads: try json.int("num_key_value_heads") ?? numHeads,
            headDim: try json.int("head_dim") ?? defaults.headDim ?? hiddenSize / numHeads,
            rmsNormEps: try json.double("rms_norm_eps") ?? defaults.rmsNormEps,
            ropeTheta: ropeTheta,
            ropeScaling: ropeScaling,
            partialRotaryFactor: partialRotary,
            maxPositionEmbeddings: maxPositions,
            tieWordEmbeddings: try json.bool("tie_word_embeddings") ?? false,
            attentionBias: defaults.alwaysAttentionBias ? true : (try json.bool("attention_bias") ?? false),
            torchDtype: try json.string("dtype") ?? json.string("torch_dtype"),
            bosTokenId: try json.int("bos_token_id"),
            eosTokenIds: try json.ints("eos_token_id") ?? [],
            numExperts: try json.int("num_experts") ?? json.int("num_local_experts") ?? json.int("n_routed_experts")
                ?? defaults.numExperts,
            numExpertsPerTok: try json.int("num_experts_per_tok") ?? defaults.numExpertsPerTok,
            moeIntermediateSize: try json.int("moe_intermediate_size") ?? defaults.moeIntermediateSize,
            normTopkProb: try json.bool("norm_topk_prob") ?? defaults.normTopkProb,
            decoderSparseStep: try json.int("decoder_sparse_step") ?? 1,
            mlpOnlyLayers: try json.ints("mlp_only_layers") ?? [],
            numSharedExperts: try json.int("n_shared_experts") ?? defaults.numSharedExperts,
            firstKDenseReplace: try json.int("first_k_dense_replace") ?? defaults.firstKDenseReplace,
            nGroup: try json.int("n_group") ?? 1,
            topkGroup: try json.int("topk_group") ?? 1,
            routedScalingFactor: try json.double("routed_scaling_factor") ?? 1,
            useQKNorm: defaults.alwaysQKNorm ? true : (try json.bool("use_qk_norm") ?? false),
            numNextnPredictLayers: try json.int("num_nextn_predict_layers") ?? defaults.numNextnPredictLayers)
    }
}

/// What transformers assumes for a field a `config.json` leaves out, per `model_type`
/// (values of the transformers configuration classes).
struct ModelTypeDefaults {
    var headDim: Int?
    var rmsNormEps = 1e-6
    var maxPositionEmbeddings = 2048
    var partialRotaryFactor = 1.0
    var alwaysAttentionBias = false
    var alwaysQKNorm = false
    var numExperts = 0
    var numExpertsPerTok = 0
    var moeIntermediateSize = 0
    var normTopkProb = false
    var numSharedExperts = 0
    var firstKDenseReplace = 0
    var numNextnPredictLayers = 0

    init(modelType: String) {
        switch modelType {
        case "qwen2":
            maxPositionEmbeddings = 32768
            alwaysAttentionBias = true          // Qwen2 attention always has q/k/v bias
        case "qwen3":
            headDim = 128
            maxPositionEmbeddings = 32768
            alwaysQKNorm = true                 // Qwen3 always normalizes q and k per head
        case "qwen3_moe":
            maxPositionEmbeddings = 32768
            alwaysQKNorm = true
            numExperts = 128
            numExpertsPerTok = 8
            moeIntermediateSize = 768
        case "glm4_moe":
            rmsNormEps = 1e-5
            maxPositionEmbeddings = 131072
            partialRotaryFactor = 0.5
            numExperts = 128
            numExpertsPerTok = 8
            moeIntermediateSize = 1408
            normTopkProb = true
            numSharedExperts = 1
            firstKDenseReplace = 1
            numNextnPredictLayers = 1
        default:
            break
        }
    }

    static let architectures: [(modelType: String, architecture: String)] = [
        ("llama", "LlamaForCausalLM"),
        ("qwen2", "Qwen2ForCausalLM"),
        ("qwen3", "Qwen3ForCausalLM"),
        ("qwen3_moe", "Qwen3MoeForCausalLM"),
        ("glm4_moe", "Glm4MoeForCausalLM"),
    ]

    static func architecture(forModelType type: String) -> String? {
        architectures.first { $0.modelType == type }?.architecture
    }

    static func modelType(forArchitecture name: String) -> String {
        architectures.first { $0.architecture == name }?.modelType ?? name.lowercased()
    }
}
