import Tensors

/// Multi-head self-attention with grouped K/V heads over the paged KV cache, in the Llama family's
/// shape: q/k/v projections (optionally biased) as one GEMM, optional per-head RMSNorm of q and k
/// before the rotary embedding (Qwen3) fused with the split into q, k and v (`Backend.splitQKV`),
/// causal attention, output projection.
public struct SelfAttention: Sendable {
    /// The q/k/v projections: stacked by rows where their dtypes allow, else apart.
    public enum Projection: Sendable {
        /// [(numHeads + 2*numKVHeads)*headDim, hidden], q rows then k rows then v rows.
        case fused(Linear)
        case separate(q: Linear, k: Linear, v: Linear)
    }

    public let qkvProj: Projection
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
        let names = ["q_proj", "k_proj", "v_proj"].map { "\(prefix).\($0)" }
        let outs = [qDim, kvDim, kvDim]
        if let weight = try w.stackedMatrixIfUniform(names.map { "\($0).weight" }, shapes: outs.map { [$0, h] }) {
            qkvProj = .fused(Linear(weight: weight, bias: bias
                ? try w.stackedVector(names.map { "\($0).bias" }, shapes: outs.map { [$0] }) : nil))
        } else {
            let (q, k, v) = try (Self.proj(w, names[0], qDim, h, bias), Self.proj(w, names[1], kvDim, h, bias),
                                 Self.proj(w, names[2], kvDim, h, bias))
            qkvProj = .separate(q: q, k: k, v: v)
        }
        oProj = try Self.proj(w, "\(prefix).o_proj", h, qDim, false)
        if qkNorm {
            qNorm = RMSNorm(weight: try w.vector("\(prefix).q_norm.weight", shape: [headDim]), eps: c.rmsNormEps)
            kNorm = RMSNorm(weight: try w.vector("\(prefix).k_norm.weight", shape: [headDim]), eps: c.rmsNormEps)
        } else {
            qNorm = nil
            kNorm = nil
        }
    }

    private static func proj(_ w: WeightLoader, _ name: String, _ out: Int, _ inp: Int, _ bias: Bool) throws -> Linear {
        Linear(weight: try w.matrix("\(name).weight", shape: [out, inp]),
               bias: bias ? try w.vector("\(name).bias", shape: [out]) : nil)
    }

    public func callAsFunction(_ x: Tensor, rotary: RotaryTable, cache: KVCacheLayer,
                               metadata: AttentionMetadata, _ b: any Backend) throws -> Tensor {
        let positions = metadata.positionsTensor, eps = qNorm?.eps ?? 0, scale = 1 / Float(headDim).squareRoot()
        let out: Tensor
        switch qkvProj {
        case .fused(let proj):
            // The split stores k and v in the cache itself (or the backend fuses it into attention).
            out = try b.qkvAttention(proj(x, b), numHeads: numHeads, numKVHeads: numKVHeads, headDim: headDim,
                                     qNorm: qNorm?.weight, kNorm: kNorm?.weight, eps: eps, table: rotary, cache: cache,
                                     metadata: metadata, scale: scale)
        case .separate(let qProj, let kProj, let vProj):
            // Two calls with no K/V heads: k goes through as the q of the second.
            let q = try b.splitQKV(qProj(x, b), numHeads: numHeads, numKVHeads: 0, headDim: headDim,
                                   qNorm: qNorm?.weight, kNorm: nil, eps: eps, positions: positions, table: rotary).q
            let k = try b.splitQKV(kProj(x, b), numHeads: numKVHeads, numKVHeads: 0, headDim: headDim,
                                   qNorm: kNorm?.weight, kNorm: nil, eps: eps, positions: positions, table: rotary).q
            out = try b.attention(q: q, k: k, v: try vProj(x, b), cache: cache, metadata: metadata, numHeads: numHeads,
                                  scale: scale, kvStored: false)
        }
        return try oProj(out, b)
    }
}
