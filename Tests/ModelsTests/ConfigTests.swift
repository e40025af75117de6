import Foundation
import Models
import Testing

@Suite struct ConfigTests {
    func config(_ folder: String) throws -> ModelConfig {
        try ModelConfig(contentsOf: repoRoot.appendingPathComponent("model-configs/\(folder)/config.json"))
    }

    @Test func qwen3_8B() throws {
        let c = try config("qwen3-8b")
        #expect(c.architecture == "Qwen3ForCausalLM")
        #expect(c.modelType == "qwen3")
        #expect(c.vocabSize == 151936)
        #expect(c.hiddenSize == 4096)
        #expect(c.intermediateSize == 12288)
        #expect(c.numHiddenLayers == 36)
        #expect(c.numAttentionHeads == 32)
        #expect(c.numKeyValueHeads == 8)
        #expect(c.headDim == 128)
        #expect(c.rmsNormEps == 1e-6)
        #expect(c.ropeTheta == 1_000_000)
        #expect(c.ropeScaling == .none)
        #expect(c.maxPositionEmbeddings == 40960)
        #expect(c.tieWordEmbeddings == false)
        #expect(c.attentionBias == false)
        #expect(c.useQKNorm)
        #expect(c.torchDtype == "bfloat16")
        #expect(c.bosTokenId == 151643)
        #expect(c.eosTokenIds == [151645])
        #expect(c.numExperts == 0)
    }

    @Test func qwen3MoE() throws {
        let c = try config("qwen3-30b-a3b")
        #expect(c.architecture == "Qwen3MoeForCausalLM")
        #expect(c.numExperts == 128)
        #expect(c.numExpertsPerTok == 8)
        #expect(c.moeIntermediateSize == 768)
        #expect(c.normTopkProb)
        #expect(c.decoderSparseStep == 1)
        #expect(c.mlpOnlyLayers == [])
        #expect(c.headDim == 128)
        #expect(c.numKeyValueHeads == 4)
        #expect(c.numHiddenLayers == 48)
    }

    @Test func deepSeekDistillQwen2() throws {
        let c = try config("deepseek-r1-distill-qwen-32b")
        #expect(c.architecture == "Qwen2ForCausalLM")
        #expect(c.attentionBias, "Qwen2 always has q/k/v bias")
        #expect(c.headDim == 5120 / 40)
        #expect(c.eosTokenIds == [151643])
        #expect(c.rmsNormEps == 1e-5)
        #expect(c.maxPositionEmbeddings == 131072)
        #expect(c.useQKNorm == false)
    }

    @Test func glm45Air() throws {
        let c = try config("glm-4.5-air")
        #expect(c.architecture == "Glm4MoeForCausalLM")
        #expect(c.modelType == "glm4_moe")
        #expect(c.numExperts == 128)
        #expect(c.numSharedExperts == 1)
        #expect(c.firstKDenseReplace == 1)
        #expect(c.nGroup == 1)
        #expect(c.topkGroup == 1)
        #expect(c.routedScalingFactor == 1.0)
        #expect(c.partialRotaryFactor == 0.5)
        #expect(c.useQKNorm == false)
        #expect(c.attentionBias)
        #expect(c.numNextnPredictLayers == 1)
        #expect(c.numExpertsPerTok == 8)
        #expect(c.moeIntermediateSize == 1408)
        #expect(c.normTopkProb)
        #expect(c.eosTokenIds == [151329, 151336, 151338])
        #expect(c.headDim == 128)
        #expect(c.numAttentionHeads == 96)
    }

    static let transformers4 = """
    {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 2048, "intermediate_size": 8192,
     "num_hidden_layers": 16, "num_attention_heads": 32, "num_key_value_heads": 8, "vocab_size": 128256,
     "rms_norm_eps": 1e-05, "rope_theta": 500000.0, "max_position_embeddings": 131072, "tie_word_embeddings": true,
     "torch_dtype": "bfloat16", "bos_token_id": 128000, "eos_token_id": [128001, 128008, 128009],
     "rope_scaling": {"factor": 32.0, "high_freq_factor": 4.0, "low_freq_factor": 1.0,
                      "original_max_position_embeddings": 8192, "rope_type": "llama3"}}
    """

    static let transformers5 = """
    {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 2048, "intermediate_size": 8192,
     "num_hidden_layers": 16, "num_attention_heads": 32, "num_key_value_heads": 8, "vocab_size": 128256,
     "rms_norm_eps": 1e-05, "max_position_embeddings": 131072, "tie_word_embeddings": true,
     "dtype": "bfloat16", "bos_token_id": 128000, "eos_token_id": [128001, 128008, 128009],
     "rope_parameters": {"rope_type": "llama3", "rope_theta": 500000.0, "factor": 32.0, "high_freq_factor": 4.0,
                         "low_freq_factor": 1.0, "original_max_position_embeddings": 8192}}
    """

    @Test func bothTransformersSpellingsAgree() throws {
        let v4 = try ModelConfig(data: Data(Self.transformers4.utf8))
        let v5 = try ModelConfig(data: Data(Self.transformers5.utf8))
        #expect(v4 == v5)
        #expect(v4.ropeTheta == 500_000)
        #expect(v4.ropeScaling == .llama3(factor: 32, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: 8192))
        #expect(v4.tieWordEmbeddings)
        #expect(v4.torchDtype == "bfloat16")
        #expect(v4.headDim == 64)
        #expect(v4.eosTokenIds == [128001, 128008, 128009])
    }

    @Test func moeSpellings() throws {
        let v4 = """
        {"architectures": ["Qwen3MoeForCausalLM"], "model_type": "qwen3_moe", "hidden_size": 64, "intermediate_size": 128,
         "num_hidden_layers": 2, "num_attention_heads": 4, "vocab_size": 100, "num_experts": 16, "num_experts_per_tok": 2,
         "moe_intermediate_size": 32, "norm_topk_prob": false, "mlp_only_layers": [1], "decoder_sparse_step": 2,
         "rope_scaling": {"type": "yarn", "factor": 4.0, "original_max_position_embeddings": 32768}}
        """
        let v5 = """
        {"architectures": ["Qwen3MoeForCausalLM"], "model_type": "qwen3_moe", "hidden_size": 64, "intermediate_size": 128,
         "num_hidden_layers": 2, "num_attention_heads": 4, "vocab_size": 100, "num_local_experts": 16, "num_experts_per_tok": 2,
         "moe_intermediate_size": 32, "norm_topk_prob": false, "mlp_only_layers": [1], "decoder_sparse_step": 2,
         "rope_parameters": {"rope_type": "yarn", "rope_theta": 10000.0, "factor": 4.0, "original_max_position_embeddings": 32768}}
        """
        let a = try ModelConfig(data: Data(v4.utf8))
        let b = try ModelConfig(data: Data(v5.utf8))
        #expect(a == b)
        #expect(a.numExperts == 16)
        #expect(a.mlpOnlyLayers == [1])
        #expect(a.decoderSparseStep == 2)
        #expect(a.numKeyValueHeads == 4, "num_key_value_heads defaults to num_attention_heads")
        #expect(a.headDim == 16, "Qwen3-MoE head_dim defaults to hidden / heads")
        #expect(a.maxPositionEmbeddings == 32768)
        #expect(a.ropeScaling == .yarn(factor: 4, originalMaxPositions: 32768, betaFast: 32, betaSlow: 1, mscale: 1, mscaleAllDim: 0))
    }

    @Test func defaultsDifferPerModelType() throws {
        func minimal(_ type: String, _ extra: String = "") -> String {
            """
            {"model_type": "\(type)", "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
             "num_attention_heads": 4, "vocab_size": 100\(extra)}
            """
        }
        let qwen3 = try ModelConfig(data: Data(minimal("qwen3").utf8))
        #expect(qwen3.architecture == "Qwen3ForCausalLM")
        #expect(qwen3.headDim == 128, "Qwen3Config.head_dim defaults to 128")
        #expect(qwen3.tieWordEmbeddings == false)
        #expect(qwen3.attentionBias == false)
        let qwen2 = try ModelConfig(data: Data(minimal("qwen2", #", "attention_bias": false"#).utf8))
        #expect(qwen2.headDim == 16)
        #expect(qwen2.attentionBias, "Qwen2 has bias whatever the file says")
        #expect(qwen2.maxPositionEmbeddings == 32768)
        let llama = try ModelConfig(data: Data(minimal("llama").utf8))
        #expect(llama.maxPositionEmbeddings == 2048)
        #expect(llama.ropeTheta == 10000)
        #expect(llama.rmsNormEps == 1e-6)
        #expect(llama.eosTokenIds == [])
        let glm = try ModelConfig(data: Data(minimal("glm4_moe").utf8))
        #expect(glm.partialRotaryFactor == 0.5)
        #expect(glm.rmsNormEps == 1e-5)
    }

    @Test func partialRotaryFactorInRopeParameters() throws {
        let text = """
        {"architectures": ["Glm4MoeForCausalLM"], "model_type": "glm4_moe", "hidden_size": 64, "intermediate_size": 128,
         "num_hidden_layers": 2, "num_attention_heads": 4, "vocab_size": 100, "n_routed_experts": 8,
         "rope_parameters": {"rope_type": "default", "rope_theta": 1000000, "partial_rotary_factor": 0.25}}
        """
        let c = try ModelConfig(data: Data(text.utf8))
        #expect(c.partialRotaryFactor == 0.25)
        #expect(c.ropeTheta == 1_000_000)
        #expect(c.numExperts == 8)
    }

    @Test func ropeParametersPerLayerType() throws {
        let text = """
        {"architectures": ["LlamaForCausalLM"], "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
         "num_attention_heads": 4, "vocab_size": 100,
         "rope_parameters": {"full_attention": {"rope_type": "linear", "rope_theta": 1000000.0, "factor": 2.0},
                             "sliding_attention": {"rope_type": "default", "rope_theta": 10000.0}}}
        """
        let c = try ModelConfig(data: Data(text.utf8))
        #expect(c.ropeTheta == 1_000_000)
        #expect(c.ropeScaling == .linear(factor: 2))
        #expect(c.modelType == "llama")
    }

    @Test func generationConfig() throws {
        let text = """
        {"bos_token_id": 151643, "do_sample": true, "eos_token_id": [151645, 151643], "pad_token_id": 151643,
         "temperature": 0.6, "top_k": 20, "top_p": 0.95, "transformers_version": "4.51.0"}
        """
        let g = try GenerationConfig(data: Data(text.utf8))
        #expect(g.bosTokenId == 151643)
        #expect(g.eosTokenIds == [151645, 151643])
        #expect(g.temperature == 0.6)
        #expect(g.topK == 20)
        #expect(g.topP == 0.95)
        #expect(g.doSample == true)
        #expect(g.minP == nil)
        let single = try GenerationConfig(data: Data(#"{"eos_token_id": 2, "max_new_tokens": 64, "repetition_penalty": 1.1}"#.utf8))
        #expect(single.eosTokenIds == [2])
        #expect(single.maxNewTokens == 64)
        #expect(single.repetitionPenalty == 1.1)
    }
}
