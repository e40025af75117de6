import Tensors

/// Multi-head self-attention with grouped K/V heads over the paged KV cache, in the Llama family's
/// shape: q/k/v projections (optionally biased), optional per-head RMSNorm of q and k before the
/// rotary embedding (Qwen3), causal attention, output projection.
public struct SelfAttention: Sendable {
    public let qProj: Linear
    public let kProj: Linear
    public let vProj: Linear
    public let oProj: Linear
    public let qNorm: RMSNorm?
    public let kNorm: RMSNorm?
    public let numHeads: Int
    public let numKVHeads: Int
    public let headDim: Int

    /// Loads `prefix.{q,k,v,o}_proj` (and `q_norm`/`k_norm` when `qkNorm`).
    public init(_ w: WeightLoader, prefix: String, config c: ModelConfig, bias: Bool, qkNorm: Bool) throws {
        numHeads = c.numAttentionHeads
        numKVHeads = c.numKeyValueHeads
        headDim = c.headDim
        let qDim = numHeads * headDim, kvDim = numKVHeads * headDim, h = c.hiddenSize
        func proj(_ name: String, _ out: Int, _ inp: Int, bias: Bool) throws -> Linear {
            Linear(weight: try w.matrix("\(prefix).\(name).weight", shape: [out, inp]),
                   bias: bias ? try w.vector("\(prefix).\(name).bias", shape: [out]) : nil)
        }
        qProj = try proj("q_proj", qDim, h, bias: bias)
        kProj = try proj("k_proj", kvDim, h, bias: bias)
        vProj = try proj("v_proj", kvDim, h, bias: bias)
        oProj = try proj("o_proj", h, qDim, bias: false)
        if qkNorm {
            qNorm = RMSNorm(weight: try w.vector("\(prefix).q_norm.weight", shape: [headDim]), eps: c.rmsNormEps)
            kNorm = RMSNorm(weight: try w.vector("\(prefix).k_norm.weight", shape: [headDim]), eps: c.rmsNormEps)
        } else {
            qNorm = nil
            kNorm = nil
        }
    }

    public func callAsFunction(_ x: Tensor, rotary: RotaryTable, cache: KVCacheLayer,
                               metadata: AttentionMetadata, _ b: any Backend) throws -> Tensor {
        var q = try qProj(x, b)
        var k = try kProj(x, b)
        let v = try vProj(x, b)
        let n = x.rows
        if let qNorm, let kNorm {
            // Per-head norm: view [n, heads*headDim] as [n*heads, headDim].
            q = try qNorm(q.reshaped([n * numHeads, headDim]), b).reshaped([n, numHeads * headDim])
            k = try kNorm(k.reshaped([n * numKVHeads, headDim]), b).reshaped([n, numKVHeads * headDim])
        }
        try b.applyRotary(q: q, k: k, positions: metadata.positionsTensor, headDim: headDim, table: rotary)
        let out = try b.attention(q: q, k: k, v: v, cache: cache, metadata: metadata, numHeads: numHeads,
                                  scale: 1 / Float(headDim).squareRoot())
        return try oProj(out, b)
    }
}
