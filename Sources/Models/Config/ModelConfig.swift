import Foundation

/// Rotary-embedding scaling as found in `rope_scaling` / `rope_parameters`.
public enum RopeScaling: Sendable, Equatable {
    case none
    /// Llama 3.x: `rope_type: "llama3"`.
    case llama3(factor: Double, lowFreqFactor: Double, highFreqFactor: Double, originalMaxPositions: Int)
    /// `rope_type: "linear"`: positions divided by factor.
    case linear(factor: Double)
    /// `rope_type: "yarn"`.
    case yarn(factor: Double, originalMaxPositions: Int, betaFast: Double, betaSlow: Double, mscale: Double, mscaleAllDim: Double)
}

/// The architecture-relevant fields of a Hugging Face `config.json`, in one spelling whatever the
/// transformers version that wrote it (4.x: `rope_theta`, `num_experts`, `torch_dtype`;
/// 5.x: `rope_parameters`, `num_local_experts`, `dtype`). GGUF metadata is mapped onto the same type.
public struct ModelConfig: Sendable, Equatable {
    /// e.g. "LlamaForCausalLM", "Qwen3ForCausalLM" (first entry of `architectures`).
    public var architecture: String
    public var modelType: String
    public var vocabSize: Int
    public var hiddenSize: Int
    public var intermediateSize: Int
    public var numHiddenLayers: Int
    public var numAttentionHeads: Int
    public var numKeyValueHeads: Int
    /// `head_dim` when given, else hidden_size / num_attention_heads.
    public var headDim: Int
    public var rmsNormEps: Double
    public var ropeTheta: Double
    public var ropeScaling: RopeScaling
    /// Fraction of head_dim that rotates (GLM: `partial_rotary_factor`), 1 otherwise.
    public var partialRotaryFactor: Double
    public var maxPositionEmbeddings: Int
    public var tieWordEmbeddings: Bool
    /// q/k/v projections carry a bias (Qwen2: always; others: `attention_bias`).
    public var attentionBias: Bool
    /// dtype the checkpoint was saved in (`torch_dtype` / `dtype`), e.g. "bfloat16".
    public var torchDtype: String?
    public var bosTokenId: Int?
    public var eosTokenIds: [Int]

    // Mixture of experts (zero / empty when dense).
    public var numExperts: Int
    public var numExpertsPerTok: Int
    public var moeIntermediateSize: Int
    public var normTopkProb: Bool
    public var decoderSparseStep: Int
    public var mlpOnlyLayers: [Int]
    public var numSharedExperts: Int
    public var firstKDenseReplace: Int
    public var nGroup: Int
    public var topkGroup: Int
    public var routedScalingFactor: Double
    public var useQKNorm: Bool
    /// Extra multi-token-prediction layers present in the checkpoint (GLM-4.5), never loaded.
    public var numNextnPredictLayers: Int

    public init(architecture: String, modelType: String, vocabSize: Int, hiddenSize: Int, intermediateSize: Int,
                numHiddenLayers: Int, numAttentionHeads: Int, numKeyValueHeads: Int, headDim: Int,
                rmsNormEps: Double, ropeTheta: Double, ropeScaling: RopeScaling = .none,
                partialRotaryFactor: Double = 1, maxPositionEmbeddings: Int, tieWordEmbeddings: Bool,
                attentionBias: Bool, torchDtype: String? = nil, bosTokenId: Int? = nil, eosTokenIds: [Int] = [],
                numExperts: Int = 0, numExpertsPerTok: Int = 0, moeIntermediateSize: Int = 0,
                normTopkProb: Bool = false, decoderSparseStep: Int = 1, mlpOnlyLayers: [Int] = [],
                numSharedExperts: Int = 0, firstKDenseReplace: Int = 0, nGroup: Int = 1, topkGroup: Int = 1,
                routedScalingFactor: Double = 1, useQKNorm: Bool = false, numNextnPredictLayers: Int = 0) {
        self.architecture = architecture
        self.modelType = modelType
        self.vocabSize = vocabSize
        self.hiddenSize = hiddenSize
        self.intermediateSize = intermediateSize
        self.numHiddenLayers = numHiddenLayers
        self.numAttentionHeads = numAttentionHeads
        self.numKeyValueHeads = numKeyValueHeads
        self.headDim = headDim
        self.rmsNormEps = rmsNormEps
        self.ropeTheta = ropeTheta
        self.ropeScaling = ropeScaling
        self.partialRotaryFactor = partialRotaryFactor
        self.maxPositionEmbeddings = maxPositionEmbeddings
        self.tieWordEmbeddings = tieWordEmbeddings
        self.attentionBias = attentionBias
        self.torchDtype = torchDtype
        self.bosTokenId = bosTokenId
        self.eosTokenIds = eosTokenIds
        self.numExperts = numExperts
        self.numExpertsPerTok = numExpertsPerTok
        self.moeIntermediateSize = moeIntermediateSize
        self.normTopkProb = normTopkProb
        self.decoderSparseStep = decoderSparseStep
        self.mlpOnlyLayers = mlpOnlyLayers
        self.numSharedExperts = numSharedExperts
        self.firstKDenseReplace = firstKDenseReplace
        self.nGroup = nGroup
        self.topkGroup = topkGroup
        self.routedScalingFactor = routedScalingFactor
        self.useQKNorm = useQKNorm
        self.numNextnPredictLayers = numNextnPredictLayers
    }
}

/// `generation_config.json`: what the model's authors want when a request is silent.
public struct GenerationConfig: Sendable, Equatable {
    public var bosTokenId: Int?
    public var eosTokenIds: [Int] = []
    public var temperature: Double?
    public var topP: Double?
    public var topK: Int?
    public var minP: Double?
    public var repetitionPenalty: Double?
    public var maxNewTokens: Int?
    public var doSample: Bool?

    public init() {}
}
