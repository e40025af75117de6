import Tensors

/// The pre-norm decoder stack of every architecture here: embedding, N × (RMSNorm → self-attention
/// → residual → RMSNorm → feed-forward → residual), final norm, LM head (tied to the embedding
/// when the checkpoint has no `lm_head.weight`). Each architecture file says which attention
/// options it uses and which feed-forward block (dense MLP or mixture of experts) each layer has.
public final class TransformerDecoder: CausalLM {
    struct Layer {
        let inputNorm: RMSNorm
        let attention: SelfAttention
        let postAttentionNorm: RMSNorm
        let mlp: FeedForward
    }

    public let config: ModelConfig
    public let backend: any Backend
    let embedding: Tensor
    let layers: [Layer]
    let norm: RMSNorm
    let lmHead: Tensor
    let rotary: RotaryTable

    /// `feedForward(layer, prefix)` loads layer `layer`'s feed-forward block from `prefix`
    /// (`model.layers.{layer}.mlp`); by default a dense MLP of `intermediate_size`.
    public init(config c: ModelConfig, weights w: WeightLoader, attentionBias: Bool, qkNorm: Bool,
                maxPositions: Int, feedForward: ((_ layer: Int, _ prefix: String) throws -> FeedForward)? = nil) throws {
        config = c
        backend = w.backend
        let feedForward = feedForward ?? { _, prefix in
            .dense(try GatedMLP(w, prefix: prefix, hidden: c.hiddenSize, intermediate: c.intermediateSize))
        }
        embedding = try w.matrix("model.embed_tokens.weight", shape: [c.vocabSize, c.hiddenSize])
        layers = try (0..<c.numHiddenLayers).map { i in
            let p = "model.layers.\(i)"
            return Layer(
                inputNorm: RMSNorm(weight: try w.vector("\(p).input_layernorm.weight", shape: [c.hiddenSize]), eps: c.rmsNormEps),
                attention: try SelfAttention(w, prefix: "\(p).self_attn", config: c, bias: attentionBias, qkNorm: qkNorm),
                postAttentionNorm: RMSNorm(weight: try w.vector("\(p).post_attention_layernorm.weight", shape: [c.hiddenSize]), eps: c.rmsNormEps),
                mlp: try feedForward(i, "\(p).mlp"))
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
        return try b.lmHead(b.gatherRows(hidden, indices: logitsIndices), weight: lmHead)
    }
}
