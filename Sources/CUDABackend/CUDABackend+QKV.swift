import Foundation
import Tensors

/// `splitQKV`: one launch of `split_qkv_bf16` (Kernels/qkv.cu) in place of per-head norms of q and k,
/// a rotary launch and the copies that make q, k and v contiguous. `qkvAttention` of a decode step:
/// the split done by the decode attention kernel itself (attention_decode_mma_qkv_d<D>), one launch
/// fewer a layer.
extension CUDABackend {
    /// Heads (warps) per block: 4 keeps decode at 12 blocks for 32 q + 8 k + 8 v heads.
    static let qkvWarpsPerBlock = 4
    /// Tokens a warp splits: 4 in prefill, so that each warp has four tokens' loads in flight (one
    /// token a warp moved 8,192 tokens at a third of copy bandwidth); 1 in decode, where the
    /// parallelism is the heads. The bits are the same either way. `OSPREY_SPLIT_TOKENS=1` keeps one (A/B).
    static func splitTokensPerWarp(rows: Int) -> Int { rows >= 256 && splitTokens != 1 ? 4 : 1 }
    static let splitTokens = ProcessInfo.processInfo.environment["OSPREY_SPLIT_TOKENS"].flatMap { Int($0) }
    /// `OSPREY_FUSED_QKV_ATTENTION=0` keeps the split a launch of its own in decode steps (A/B comparisons).
    static let fusedQKVAttention = ProcessInfo.processInfo.environment["OSPREY_FUSED_QKV_ATTENTION"] != "0"

    public func splitQKV(_ qkv: Tensor, numHeads: Int, numKVHeads: Int, headDim: Int, qNorm: Tensor?, kNorm: Tensor?,
                         eps: Float, positions: Tensor, table: RotaryTable, store: KVCacheStore?) throws -> (q: Tensor, k: Tensor, v: Tensor) {
        try checkSplit(qkv, numHeads: numHeads, numKVHeads: numKVHeads, headDim: headDim, qNorm: qNorm, kNorm: kNorm,
                       positions: positions, table: table, store: store)
        let n = qkv.rows, heads = numHeads + 2 * numKVHeads
        let q = try empty([n, numHeads * headDim]), k = try empty([n, numKVHeads * headDim]), v = try empty([n, numKVHeads * headDim])
        if n == 0 || heads == 0 { return (q, k, v) }
        let warps = Self.qkvWarpsPerBlock, tokens = Self.splitTokensPerWarp(rows: n)
        let pairsPerLane = headDim <= 64 ? 1 : headDim <= 128 ? 2 : 4
        let name = "split_qkv_\(tokens)x\(pairsPerLane)_" + (store?.cache.key.dtype == .f8e4m3 ? "f8" : "bf16")
        try launch(name, grid: ((n + tokens - 1) / tokens, (heads + warps - 1) / warps, 1), block: 32 * warps, shared: warps * headDim * 4,
                   [.ptr(ptr(qkv)), .ptr(ptr(q)), .ptr(ptr(k)), .ptr(ptr(v))]
                   + splitArgs(qNorm: qNorm, kNorm: kNorm, eps: eps, positions: positions, table: table, store: store,
                               numHeads: numHeads, numKVHeads: numKVHeads, headDim: headDim, rows: n))
        return (q, k, v)
    }

    public func qkvAttention(_ qkv: Tensor, numHeads: Int, numKVHeads: Int, headDim: Int, qNorm: Tensor?, kNorm: Tensor?,
                             eps: Float, table: RotaryTable, cache: KVCacheLayer, metadata: AttentionMetadata,
                             scale: Float) throws -> Tensor {
        guard fusesQKVAttention(numHeads: numHeads, numKVHeads: numKVHeads, headDim: headDim, cache: cache, metadata: metadata) else {
            return try splitThenAttention(qkv, numHeads: numHeads, numKVHeads: numKVHeads, headDim: headDim, qNorm: qNorm,
                                          kNorm: kNorm, eps: eps, table: table, cache: cache, metadata: metadata, scale: scale)
        }
        let n = metadata.numTokens
        let store = KVCacheStore(cache: cache, slotMapping: metadata.slotMappingTensor)
        try checkSplit(qkv, numHeads: numHeads, numKVHeads: numKVHeads, headDim: headDim, qNorm: qNorm, kNorm: kNorm,
                       positions: metadata.positionsTensor, table: table, store: store)
        let out = try empty([n, numHeads * headDim])
        let rotary = rotaryArgs(qNorm: qNorm, kNorm: kNorm, eps: eps, positions: metadata.positionsTensor, table: table)
        let split = rotary.norms + rotary.rotation + [.ptr(ptr(metadata.slotMappingTensor))]
        try decodeAttention(q: .ptr(ptr(qkv)), split: split, cache: cache, metadata: metadata, numHeads: numHeads,
                            scale: scale, out: out, rowTokens: nil, rowCount: n)
        return out
    }

    /// Whether decode steps may fuse the split into attention at all: not with the switch off
    /// (OSPREY_FUSED_QKV_ATTENTION=0) or the tensor-core decode kernel off or missing (OSPREY_DECODE_MMA=0, before sm_80).
    public var fusesDecodeQKV: Bool { Self.fusedQKVAttention && Self.decodeMMAEnabled && computeCapability >= 80 }

    /// Whether `qkvAttention` runs as one kernel: every row a decode (one new token a sequence), on
    /// the tensor-core decode path.
    public func fusesQKVAttention(numHeads: Int, numKVHeads: Int, headDim: Int, cache: KVCacheLayer, metadata: AttentionMetadata) -> Bool {
        let n = metadata.numTokens
        guard fusesDecodeQKV, n > 0, n == metadata.numSeqs, metadata.maxQueryLen == 1, numKVHeads > 0,
              numHeads % numKVHeads == 0, cache.numKVHeads == numKVHeads, cache.headDim == headDim else { return false }
        let group = numHeads / numKVHeads
        return group >= 2 && decodeMMA(headDim: headDim, group: group, fp8: cache.key.dtype == .f8e4m3) != nil
    }

    /// split_qkv's arguments after its four tensors: norms, positions, rotary table, shape, eps, cache, slots.
    private func splitArgs(qNorm: Tensor?, kNorm: Tensor?, eps: Float, positions: Tensor, table: RotaryTable, store: KVCacheStore?,
                           numHeads: Int, numKVHeads: Int, headDim: Int, rows: Int) -> [Arg] {
        let rotary = rotaryArgs(qNorm: qNorm, kNorm: kNorm, eps: eps, positions: positions, table: table)
        return rotary.norms + [.i32(rows), .i32(numHeads), .i32(numKVHeads), .i32(headDim)] + rotary.rotation
            + [.ptr(store.map { ptr($0.cache.key) } ?? 0), .ptr(store.map { ptr($0.cache.value) } ?? 0),
               .ptr(store.map { ptr($0.slotMapping) } ?? 0)]
    }

    /// The arguments both kernels take: (q norm, k norm, positions, cos, sin) and (rotary dim, table
    /// rows, NeoX pairing, eps).
    private func rotaryArgs(qNorm: Tensor?, kNorm: Tensor?, eps: Float, positions: Tensor, table: RotaryTable) -> (norms: [Arg], rotation: [Arg]) {
        ([.ptr(qNorm.map { ptr($0) } ?? 0), .ptr(kNorm.map { ptr($0) } ?? 0), .ptr(ptr(positions)), .ptr(ptr(table.cos)), .ptr(ptr(table.sin))],
         [.i32(table.rotaryDim), .i32(table.cos.rows), .i32(table.neoxStyle ? 1 : 0), .f32(eps)])
    }

    private func checkSplit(_ qkv: Tensor, numHeads: Int, numKVHeads: Int, headDim: Int, qNorm: Tensor?, kNorm: Tensor?,
                            positions: Tensor, table: RotaryTable, store: KVCacheStore?) throws {
        let n = qkv.rows, heads = numHeads + 2 * numKVHeads
        func require(_ ok: Bool, _ message: @autoclosure () -> String) throws {
            if !ok { throw BackendError.failure("splitQKV: \(message())") }
        }
        try require(qkv.dtype == .bf16, "qkv must be bf16 on the GPU, got \(qkv.dtype)")
        try require(qkv.lastDim == heads * headDim, "qkv \(qkv.shape) is not \(numHeads) + 2 x \(numKVHeads) heads of \(headDim)")
        try require(headDim % 2 == 0 && headDim <= 256 && ptr(qkv) % 4 == 0,
                    "needs an even headDim of at most 256 (\(headDim)) and a 4-byte aligned qkv")
        try require(positions.dtype == .i32 && positions.count == n, "positions \(positions.shape) (\(positions.dtype)) for \(n) tokens")
        try require(table.rotaryDim <= headDim && table.rotaryDim % 2 == 0 && table.cos.lastDim == table.rotaryDim / 2
                    && table.cos.dtype == .f32 && table.sin.dtype == .f32,
                    "rotary table \(table.cos.shape) (\(table.cos.dtype)) for rotaryDim \(table.rotaryDim), headDim \(headDim)")
        for norm in [qNorm, kNorm].compactMap({ $0 }) {
            try require(norm.dtype == .f32 && norm.count == headDim, "norm weight \(norm.shape) (\(norm.dtype)) for headDim \(headDim)")
        }
        if let store {
            try require(store.cache.numKVHeads == numKVHeads && store.cache.headDim == headDim && store.slotMapping.count == n
                        && store.slotMapping.dtype == .i32 && [.bf16, .f8e4m3].contains(store.cache.key.dtype),
                        "KV store: cache of \(store.cache.numKVHeads) x \(store.cache.headDim) (\(store.cache.key.dtype)), \(store.slotMapping.count) slots, for \(numKVHeads) x \(headDim), \(n) tokens")
        }
    }
}
