import Tensors

/// The pre-norm decoder stack shared by Llama, Qwen2 and Qwen3: embedding, N × (RMSNorm →
/// self-attention → residual → RMSNorm → SwiGLU MLP → residual), final norm, LM head (tied to the
/// embedding when the checkpoint has no `lm_head.weight`). Each architecture file says which
/// attention options it uses.
public final class DenseDecoder: CausalLM {
    struct Layer {
        let inputNorm: RMSNorm
        let attention: SelfAttention
        let postAttentionNorm: RMSNorm
        let mlp: GatedMLP
    }

    public let config: ModelConfig
    public let backend: any Backend
    let embedding: Tensor
    let layers: [Layer]
    let norm: RMSNorm
    let lmHead: Tensor
    let rotary: RotaryTable

    public init(config c: ModelConfig, weights w: WeightLoader, attentionBias: Bool, qkNorm: Bool,
                maxPositions: Int) throws {
        config = c
        backend = w.backend
        embedding = try w.matrix("model.embed_tokens.weight", shape: [c.vocabSize, c.hiddenSize])
        layers = try (0..<c.numHiddenLayers).map { i in
            let p = "model.layers.\(i)"
            return Layer(
                inputNorm: RMSNorm(weight: try w.vector("\(p).input_layernorm.weight", shape: [c.hiddenSize]), eps: c.rmsNormEps),
                attention: try SelfAttention(w, prefix: "\(p).self_attn", config: c, bias: attentionBias, qkNorm: qkNorm),
                postAttentionNorm: RMSNorm(weight: try w.vector("\(p).post_attention_layernorm.weight", shape: [c.hiddenSize]), eps: c.rmsNormEps),
                mlp: try GatedMLP(w, prefix: "\(p).mlp", hidden: c.hiddenSize, intermediate: c.intermediateSize))
        }
        norm = RMSNorm(weight: try w.vector("model.norm.weight", shape: [c.hiddenSize]), eps: c.rmsNormEps)
        lmHead = w.contains("lm_head.weight") && !c.tieWordEmbeddings
            ? try w.matrix("lm_head.weight", shape: [c.vocabSize, c.hiddenSize])
            : embedding
        rotary = try RotaryEmbedding.table(config: c, maxPositions: maxPositions, backend: w.backend)
    }

    public func forward(tokenIds: Tensor, metadata: AttentionMetadata, kvCache: [KVCacheLayer],
                        logitsIndices: Tensor) throws -> Tensor {
        let b = backend
        let residual = try b.embedding(embedding, ids: tokenIds)
        var x = residual
        for (i, layer) in layers.enumerated() {
            // The first layer's residual is the embedding itself; later ones add the previous MLP
            // output into the running residual inside the fused add+norm.
            let normed = i == 0 ? try layer.inputNorm(residual, b) : try layer.inputNorm(x, residual: residual, b)
            let attn = try layer.attention(normed, rotary: rotary, cache: kvCache[i], metadata: metadata, b)
            x = try layer.mlp(layer.postAttentionNorm(attn, residual: residual, b), b)
        }
        let hidden = layers.isEmpty ? try norm(residual, b) : try norm(x, residual: residual, b)
        return try b.linear(b.gatherRows(hidden, indices: logitsIndices), weight: lmHead, bias: nil)
    }
}
