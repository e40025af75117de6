/// GGUF tensor names ↔ Hugging Face checkpoint names, for the Llama / Qwen / GLM-4.5 families.
enum GGUFTensorNames {
    /// How a Hugging Face tensor is obtained from GGUF tensors.
    enum Source: Sendable {
        /// The GGUF tensor as stored.
        case direct(String)
        /// A llama-arch q/k projection whose rows llama.cpp permuted; undo it for `heads` heads.
        case unpermuted(String, heads: Int)
        /// One expert's slice (first dimension) of a stacked expert tensor.
        case expert(String, index: Int)
    }

    private static let global: [String: String] = [
        "token_embd": "model.embed_tokens",
        "output_norm": "model.norm",
        "output": "lm_head",
    ]

    private static let perLayer: [String: String] = [
        "attn_norm": "input_layernorm",
        "ffn_norm": "post_attention_layernorm",
        "post_attention_norm": "post_attention_layernorm",  // glm4moe's name for the pre-MLP norm
        "attn_q": "self_attn.q_proj",
        "attn_k": "self_attn.k_proj",
        "attn_v": "self_attn.v_proj",
        "attn_output": "self_attn.o_proj",
        "attn_q_norm": "self_attn.q_norm",
        "attn_k_norm": "self_attn.k_norm",
        "ffn_gate": "mlp.gate_proj",
        "ffn_up": "mlp.up_proj",
        "ffn_down": "mlp.down_proj",
        "ffn_gate_inp": "mlp.gate",
        "ffn_gate_shexp": "mlp.shared_experts.gate_proj",
        "ffn_up_shexp": "mlp.shared_experts.up_proj",
        "ffn_down_shexp": "mlp.shared_experts.down_proj",
    ]

    private static let experts: [String: String] = [
        "ffn_gate_exps": "gate_proj",
        "ffn_up_exps": "up_proj",
        "ffn_down_exps": "down_proj",
    ]

    /// Hugging Face names of the tensors of `file`, with where each comes from. GGUF tensors with no
    /// Hugging Face counterpart (e.g. `rope_freqs.weight`) are served under their GGUF name.
    /// `permutedHeads` gives (q heads, kv heads) when q/k rows are permuted (llama arch).
    static func map(_ file: GGUFFile, permutedHeads: (q: Int, kv: Int)?) -> [String: Source] {
        var result: [String: Source] = [:]
        for info in file.tensorInfos {
            let gguf = info.name
            let parts = gguf.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
            guard let suffix = parts.last, suffix == "weight" || suffix == "bias" else {
                result[gguf] = .direct(gguf)
                continue
            }
            if parts.count == 2, let hf = global[parts[0]] {
                result["\(hf).\(suffix)"] = .direct(gguf)
            } else if parts.count == 4, parts[0] == "blk", let layer = Int(parts[1]) {
                let prefix = "model.layers.\(layer)"
                if let hf = perLayer[parts[2]] {
                    let name = "\(prefix).\(hf).\(suffix)"
                    if let heads = permutedHeads, suffix == "weight", parts[2] == "attn_q" || parts[2] == "attn_k" {
                        result[name] = .unpermuted(gguf, heads: parts[2] == "attn_q" ? heads.q : heads.kv)
                    } else {
                        result[name] = .direct(gguf)
                    }
                } else if parts[2] == "exp_probs_b" {
                    result["\(prefix).mlp.gate.e_score_correction_bias"] = .direct(gguf)
                } else if let hf = experts[parts[2]], info.shape.count == 3 {
                    for e in 0 ..< info.shape[0] {
                        result["\(prefix).mlp.experts.\(e).\(hf).\(suffix)"] = .expert(gguf, index: e)
                    }
                    // [E, hidden, I] is already the layout `Backend.moe` takes for down projections.
                    if parts[2] == "ffn_down_exps" { result["\(prefix).mlp.experts.down_proj"] = .direct(gguf) }
                } else {
                    result[gguf] = .direct(gguf)
                }
            } else {
                result[gguf] = .direct(gguf)
            }
        }
        return result
    }
}
