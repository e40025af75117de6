import Tensors

/// `splitQKV`: one launch of `split_qkv_bf16` (Kernels/qkv.cu) in place of per-head norms of q and k,
/// a rotary launch and the copies that make q, k and v contiguous.
extension CUDABackend {
    /// Heads (warps) per block: 4 keeps decode at 12 blocks for 32 q + 8 k + 8 v heads.
    static let qkvWarpsPerBlock = 4

    public func splitQKV(_ qkv: Tensor, numHeads: Int, numKVHeads: Int, headDim: Int, qNorm: Tensor?, kNorm: Tensor?,
                         eps: Float, positions: Tensor, table: RotaryTable, store: KVCacheStore?) throws -> (q: Tensor, k: Tensor, v: Tensor) {
        let n = qkv.rows, heads = numHeads + 2 * numKVHeads
        func require(_ ok: Bool, _ message: @autoclosure () -> String) throws {
            if !ok { throw BackendError.failure("splitQKV: \(message())") }
        }
        try require(qkv.dtype == .bf16, "qkv must be bf16 on the GPU, got \(qkv.dtype)")
        try require(qkv.lastDim == heads * headDim, "qkv \(qkv.shape) is not \(numHeads) + 2 x \(numKVHeads) heads of \(headDim)")
        try require(headDim % 2 == 0 && ptr(qkv) % 4 == 0, "needs an even headDim (\(headDim)) and a 4-byte aligned qkv")
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
        let q = try empty([n, numHeads * headDim]), k = try empty([n, numKVHeads * headDim]), v = try empty([n, numKVHeads * headDim])
        if n == 0 || heads == 0 { return (q, k, v) }
        let warps = Self.qkvWarpsPerBlock
        try launch(store?.cache.key.dtype == .f8e4m3 ? "split_qkv_bf16_f8" : "split_qkv_bf16", grid: (n, (heads + warps - 1) / warps, 1), block: 32 * warps, shared: warps * headDim * 4,
                   [.ptr(ptr(qkv)), .ptr(ptr(q)), .ptr(ptr(k)), .ptr(ptr(v)),
                    .ptr(qNorm.map { ptr($0) } ?? 0), .ptr(kNorm.map { ptr($0) } ?? 0),
                    .ptr(ptr(positions)), .ptr(ptr(table.cos)), .ptr(ptr(table.sin)),
                    .i32(numHeads), .i32(numKVHeads), .i32(headDim), .i32(table.rotaryDim), .i32(table.cos.rows),
                    .i32(table.neoxStyle ? 1 : 0), .f32(eps),
                    .ptr(store.map { ptr($0.cache.key) } ?? 0), .ptr(store.map { ptr($0.cache.value) } ?? 0),
                    .ptr(store.map { ptr($0.slotMapping) } ?? 0)])
        return (q, k, v)
    }
}
