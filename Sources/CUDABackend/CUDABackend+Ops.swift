import Foundation
import Tensors

/// The model ops, each one kernel launch (or one cuBLASLt call) on the backend's stream.
extension CUDABackend {
    private func check(_ condition: Bool, _ message: @autoclosure () -> String) throws {
        if !condition { throw BackendError.failure(message()) }
    }

    private func bf16(_ t: Tensor, _ what: String) throws -> CUdeviceptr {
        guard t.dtype == .bf16 else { throw BackendError.unsupported("\(what) must be bf16 on the GPU, got \(t.dtype)") }
        return ptr(t)
    }

    private func f32(_ t: Tensor, _ what: String) throws -> CUdeviceptr {
        guard t.dtype == .f32 else { throw BackendError.unsupported("\(what) must be f32, got \(t.dtype)") }
        return ptr(t)
    }

    private func i32(_ t: Tensor, _ what: String) throws -> CUdeviceptr {
        guard t.dtype == .i32 else { throw BackendError.unsupported("\(what) must be i32, got \(t.dtype)") }
        return ptr(t)
    }

    /// Threads for a row kernel over `d` elements: a multiple of 32, at most 1024.
    private func rowThreads(_ d: Int) -> Int { min(1024, max(32, (d + 31) / 32 * 32)) }

    /// Work items of a row kernel over `d` bf16 values: 8-value vectors when d % 8 == 0 (the
    /// kernels check alignment themselves and loop over scalars otherwise).
    private func vectorThreads(_ d: Int) -> Int { d % 8 == 0 ? d / 8 : d }

    private func elementwiseGrid(_ n: Int) -> (Int, Int, Int) { ((n + 255) / 256, 1, 1) }

    public func embedding(_ table: Tensor, ids: Tensor) throws -> Tensor {
        let n = ids.count, hidden = table.lastDim
        let out = try empty([n, hidden])
        if n == 0 { return out }
        try launch("embedding_bf16", grid: (n, 1, 1), block: rowThreads(min(vectorThreads(hidden), 256)),
                   [.ptr(try bf16(table, "embedding table")), .ptr(try i32(ids, "ids")), .ptr(ptr(out)), .i32(hidden), .i32(table.rows)])
        return out
    }

    public func linear(_ x: Tensor, weight: Tensor, bias: Tensor?) throws -> Tensor {
        let n = x.rows, k = x.lastDim, m = weight.shape[0]
        try check(weight.lastDim == k, "linear: x \(x.shape) and weight \(weight.shape) disagree")
        let out = try empty([n, m])
        if n == 0 { return out }
        let xp = try bf16(x, "linear input"), wp = try bf16(weight, "linear weight")
        let biasp = try bias.map { try f32($0, "bias") }
        if try gemv(x: xp, w: wp, bias: biasp, out: out, n: n, m: m, k: k) { return out }
        try blas.matmul(x: xp, w: wp, y: ptr(out), n: n, m: m, k: k, outType: CuBLASLt.r16BF, stream: stream)
        if let bias {
            try launch("add_bias_bf16", grid: elementwiseGrid(n * m), block: 256,
                       [.ptr(ptr(out)), .ptr(try f32(bias, "bias")), .i32(m), .i64(n * m)])
        }
        return out
    }

    public func lmHead(_ x: Tensor, weight: Tensor) throws -> Tensor {
        let n = x.rows, k = x.lastDim, m = weight.shape[0]
        try check(weight.lastDim == k, "lmHead: x \(x.shape) and weight \(weight.shape) disagree")
        let out = try empty([n, m], dtype: .f32)
        if n == 0 { return out }
        let xp = try bf16(x, "lm_head input"), wp = try bf16(weight, "lm_head weight")
        if try gemv(x: xp, w: wp, bias: nil, out: out, n: n, m: m, k: k) { return out }
        try blas.matmul(x: xp, w: wp, y: ptr(out), n: n, m: m, k: k, outType: CuBLASLt.r32F, stream: stream)
        return out
    }

    /// Rows of x up to which `linear` and `lmHead` take the GEMV kernel (one mma column per row).
    /// `OSPREY_GEMV_MAX_ROWS` lowers it (0: cuBLASLt only), for comparing the two in one sitting.
    static let gemvMaxRows = min(8, ProcessInfo.processInfo.environment["OSPREY_GEMV_MAX_ROWS"].flatMap { Int($0) } ?? 8)

    /// `OSPREY_GEMV_KSPLIT` (1, 2, 4, 8 or 16) fixes the GEMV's split of k, for tuning the rule below.
    static let gemvFixedSplit = ProcessInfo.processInfo.environment["OSPREY_GEMV_KSPLIT"].flatMap { Int($0) }
        .flatMap { [1, 2, 4, 8, 16].contains($0) ? $0 : nil }

    /// out[n, m] (bf16 or f32, as `out` is) = x[n, k] · w[m, k]ᵀ (+ bias) by `gemv.cu`, when it applies.
    /// Few rows of x make the product a pure stream of the weights, which cuBLASLt reads at 2.3-2.7 TB/s
    /// at best; this kernel reads each weight once with 16-byte loads, closer to copy bandwidth.
    /// False (nothing launched) for larger batches, k not a multiple of 8, or misaligned operands.
    private func gemv(x: CUdeviceptr, w: CUdeviceptr, bias: CUdeviceptr?, out: Tensor, n: Int, m: Int, k: Int) throws -> Bool {
        guard n <= Self.gemvMaxRows, m > 0, k % 8 == 0, x % 16 == 0, w % 16 == 0, computeCapability >= 80,
              m + 16 <= Int(Int32.max), k <= Int(Int32.max) else { return false }
        // Warps per 16-row tile splitting k (chunks of 128; the tile's warps sum through shared
        // memory): at most 12 chunks a warp, and at least ~11 warps a multiprocessor, each with two
        // chunks or more. Measured best on an H100 for each Qwen3-8B projection at batch 1
        // (scripts/gpu/gemv_bench.sh): 4 for qkv and gate_up, 8 for o and down.
        let tiles = (m + 15) / 16, chunks = (k + 127) / 128
        var ksplit = 1
        while ksplit < 16 && (chunks > 12 * ksplit || tiles * ksplit < 11 * multiprocessorCount) && chunks >= 4 * ksplit {
            ksplit *= 2
        }
        if let fixed = Self.gemvFixedSplit { ksplit = fixed }
        let warps = max(8, ksplit), tilesPerBlock = warps / ksplit
        try launch(out.dtype == .f32 ? "gemv_bf16_f32" : "gemv_bf16_bf16", grid: ((tiles + tilesPerBlock - 1) / tilesPerBlock, 1, 1),
                   block: 32 * warps, [.ptr(x), .ptr(w), .ptr(bias ?? 0), .ptr(ptr(out)), .i32(n), .i32(m), .i32(k), .i32(ksplit)])
        return true
    }

    public func rmsNorm(_ x: Tensor, weight: Tensor, eps: Float) throws -> Tensor {
        let d = x.lastDim, rows = x.rows
        let out = try empty(x.shape)
        if rows == 0 { return out }
        try launch("rmsnorm_bf16", grid: (rows, 1, 1), block: rowThreads(vectorThreads(d)),
                   [.ptr(try bf16(x, "rmsNorm input")), .ptr(try f32(weight, "norm weight")), .ptr(ptr(out)), .i32(d), .f32(eps)])
        return out
    }

    public func addRMSNorm(_ x: Tensor, residual: Tensor, weight: Tensor, eps: Float) throws -> Tensor {
        try check(x.shape == residual.shape, "addRMSNorm: \(x.shape) vs residual \(residual.shape)")
        let d = x.lastDim, rows = x.rows
        let out = try empty(x.shape)
        if rows == 0 { return out }
        try launch("add_rmsnorm_bf16", grid: (rows, 1, 1), block: rowThreads(vectorThreads(d)),
                   [.ptr(try bf16(x, "x")), .ptr(try bf16(residual, "residual")), .ptr(try f32(weight, "norm weight")),
                    .ptr(ptr(out)), .i32(d), .f32(eps)])
        return out
    }

    public func add(_ a: Tensor, _ b: Tensor) throws -> Tensor {
        try check(a.shape == b.shape, "add: \(a.shape) vs \(b.shape)")
        let out = try empty(a.shape)
        if a.count == 0 { return out }
        try launch("add_bf16", grid: elementwiseGrid(a.count), block: 256,
                   [.ptr(try bf16(a, "a")), .ptr(try bf16(b, "b")), .ptr(ptr(out)), .i64(a.count)])
        return out
    }

    public func siluAndMul(_ x: Tensor) throws -> Tensor {
        let inter = x.lastDim / 2, rows = x.rows
        let out = try empty([rows, inter])
        if rows == 0 { return out }
        let input = try bf16(x, "siluAndMul input")
        let vec = inter % 8 == 0 && input % 16 == 0 && ptr(out) % 16 == 0
        let items = vec ? rows * inter / 8 : rows * inter
        try launch("silu_mul_bf16", grid: elementwiseGrid(items), block: 256,
                   [.ptr(input), .ptr(ptr(out)), .i32(inter), .i64(items), .i32(vec ? 1 : 0)])
        return out
    }

    public func attention(q: Tensor, k: Tensor, v: Tensor, cache: KVCacheLayer, metadata: AttentionMetadata,
                          numHeads: Int, scale: Float, kvStored: Bool) throws -> Tensor {
        let n = metadata.numTokens, d = cache.headDim, kvh = cache.numKVHeads
        try check(q.count == n * numHeads * d && k.count == n * kvh * d && v.count == k.count,
                  "attention: q \(q.shape), k \(k.shape), v \(v.shape) for \(n) tokens")
        try check(numHeads % kvh == 0, "attention: \(numHeads) heads over \(kvh) KV heads")
        try check([.bf16, .f8e4m3].contains(cache.key.dtype) && cache.value.dtype == cache.key.dtype,
                  "attention: a \(cache.key.dtype) KV cache")
        // Kernels for the E4M3 cache carry the suffix `_f8` (same arguments).
        let f8 = cache.key.dtype == .f8e4m3 ? "_f8" : ""
        let out = try empty([n, numHeads * d])
        if n == 0 { return out }
        if !kvStored {
            try launch("write_kv_cache" + f8, grid: (n, 1, 1), block: rowThreads(min(kvh * d, 1024)),
                       [.ptr(try bf16(k, "k")), .ptr(try bf16(v, "v")), .ptr(ptr(cache.key)), .ptr(ptr(cache.value)),
                        .ptr(try i32(metadata.slotMappingTensor, "slot mapping")), .i32(kvh * d)])
        }
        var rowTokens: Tensor?  // the tokens left to the per-row kernel when some go to the tiled one
        var rowCount = n
        if metadata.maxQueryLen >= Self.prefillKernelMinRows {
            let plan = try attentionPlan(metadata)
            // Tiles of 64 query rows share each K/V tile through shared memory: on the tensor cores
            // for the head dims with an instantiation (stages of K and V tiles of `keys` rows of d + 8
            // bf16; head dim 256 keeps Q's 64 rows there too), else in float32 SIMT arithmetic.
            // The E4M3 stages are rows of d + 16 bytes, widened into one bf16 K/V pair.
            let kernel: String, shared: Int
            if Self.prefillMMAEnabled, Self.prefillMMAHeadDims.contains(d) {
                let keys = d == 256 ? 32 : 64, stages = d == 256 ? 2 : 3, qShared = d == 256 ? 64 * (d + 8) * 2 : 0
                kernel = "attention_prefill_d\(d)" + f8
                shared = f8.isEmpty ? stages * 2 * keys * (d + 8) * 2 + qShared
                    : stages * 2 * keys * (d + 16) + 2 * keys * (d + 8) * 2 + qShared
            } else {
                kernel = "attention_prefill" + f8
                shared = (64 * (d + 1) * 2 + 64 * d + 64 * 65) * 4
            }
            try launch(kernel, grid: (numHeads, plan.numTiles, 1), block: 128, shared: shared,
                       [.ptr(try bf16(q, "q")), .ptr(ptr(cache.key)), .ptr(ptr(cache.value)),
                        .ptr(ptr(metadata.queryStartTensor)), .ptr(ptr(metadata.seqLensTensor)), .ptr(ptr(metadata.blockTablesTensor)),
                        .ptr(ptr(out)), .i32(numHeads), .i32(kvh), .i32(d), .i32(metadata.blockSize),
                        .i32(max(metadata.maxBlocksPerSeq, 1)), .f32(scale), .ptr(ptr(plan.tiles))])
            guard let short = plan.shortTokens else { return out }
            rowTokens = short
            rowCount = short.count
        }
        try decodeAttention(q: .ptr(try bf16(q, "q")), cache: cache, metadata: metadata, numHeads: numHeads, scale: scale,
                            out: out, rowTokens: rowTokens, rowCount: rowCount)
        return out
    }

    /// The per-row kernels of `attention` (decodes, and the short rows of a mixed batch: `rowTokens`,
    /// else all `rowCount` tokens): grouped-query models read each K/V row once per group, on the
    /// tensor cores where a decodeMMA instantiation fits, else one warp per query head
    /// (attention_decode_gqa); rows split over the keys where they are few, merged by attention_combine.
    /// With `split` (split_qkv's arguments, only where `decodeMMA` applies and every row is a decode),
    /// `q` is the fused projection and attention_decode_mma_qkv_d<D> splits it itself.
    func decodeAttention(q: Arg, split: [Arg]? = nil, cache: KVCacheLayer, metadata: AttentionMetadata, numHeads: Int,
                         scale: Float, out: Tensor, rowTokens: Tensor?, rowCount: Int) throws {
        let n = metadata.numTokens, d = cache.headDim, kvh = cache.numKVHeads
        let f8 = cache.key.dtype == .f8e4m3 ? "_f8" : ""
        let group = numHeads / kvh
        let grouped = group >= 2 && group <= 32
        let mma = grouped ? decodeMMA(headDim: d, group: group, fp8: !f8.isEmpty) : nil
        try check(split == nil || (mma != nil && rowTokens == nil), "attention: a fused q/k/v split without its kernel")
        let numSplits = Self.forcedSplits ?? attentionSplits(rows: rowCount * (grouped ? kvh : numHeads), maxSeqLen: metadata.maxSeqLen,
                                        blocksPerMultiprocessor: mma?.blocksPerMultiprocessor ?? 2)
        let parts = numSplits > 1 ? try empty([n * numHeads * numSplits, d], dtype: .f32) : out
        let maxes = numSplits > 1 ? try empty([n * numHeads * numSplits], dtype: .f32) : out
        let sums = numSplits > 1 ? try empty([n * numHeads * numSplits], dtype: .f32) : out
        let shared = mma?.shared ?? (grouped ? (group * d + 2 * 64 * (d / 2 + 1) + group * 64 + 64) * 4 : (d + 2 * 256) * 4)
        let kernel = split != nil ? "attention_decode_mma_qkv_d\(d)" + f8
            : mma?.name ?? ((grouped ? "attention_decode_gqa" : "attention_paged") + f8)
        let args: [Arg] = [q, .ptr(ptr(cache.key)), .ptr(ptr(cache.value)),
                           .ptr(ptr(metadata.queryStartTensor)), .ptr(ptr(metadata.seqLensTensor)), .ptr(ptr(metadata.blockTablesTensor)),
                           .ptr(ptr(out)), .ptr(ptr(parts)), .ptr(ptr(maxes)), .ptr(ptr(sums)),
                           .i32(metadata.numSeqs), .i32(numHeads), .i32(kvh), .i32(d), .i32(metadata.blockSize),
                           .i32(max(metadata.maxBlocksPerSeq, 1)), .i32(Self.minKeysPerSplit), .f32(scale)]
        try launch(kernel, grid: (grouped ? kvh : numHeads, rowCount, numSplits),
                   block: mma.map { 32 * $0.warps } ?? (grouped ? 32 * group : 128), shared: shared, preferShared: mma != nil,
                   args + (split ?? [.ptr(rowTokens.map { ptr($0) } ?? 0)]))
        if numSplits > 1 {
            try launch("attention_combine", grid: (rowCount, numHeads, 1), block: rowThreads(d),
                       [.ptr(ptr(parts)), .ptr(ptr(maxes)), .ptr(ptr(sums)), .ptr(ptr(out)), .i32(numHeads), .i32(d), .i32(numSplits),
                        .ptr(rowTokens.map { ptr($0) } ?? 0)])
        }
    }

    /// Which query tiles go to the tiled prefill kernel and which tokens to the per-row kernel,
    /// worked out once per forward pass (every layer shares the metadata) and kept on the device.
    struct AttentionPlan {
        /// The pass's query-start tensor, held so that its identity stays unique while cached.
        let queryStart: Tensor
        let tiles: Tensor
        let numTiles: Int
        let shortTokens: Tensor?
    }

    func attentionPlan(_ metadata: AttentionMetadata) throws -> AttentionPlan {
        if let plan = lastAttentionPlan, plan.queryStart.storage === metadata.queryStartTensor.storage,
           plan.queryStart.offset == metadata.queryStartTensor.offset { return plan }
        var pairs: [(seq: Int32, tile: Int32, keys: Int)] = [], shortTokens: [Int32] = []
        for s in 0..<metadata.numSeqs {
            let start = metadata.queryStart[s], len = Int(metadata.queryStart[s + 1] - start)
            if len >= Self.prefillKernelMinRows {
                let ctx = Int(metadata.seqLens[s])
                for tile in 0..<((len + 63) / 64) {
                    pairs.append((Int32(s), Int32(tile), min(ctx, ctx - len + (tile + 1) * 64)))
                }
            } else {
                shortTokens += Array(start ..< start + Int32(len))
            }
        }
        // Causal tiles differ in work by their key count: the longest go first, so that the last
        // wave is made of short ones.
        pairs.sort { $0.keys != $1.keys ? $0.keys > $1.keys : ($0.seq, $0.tile) < ($1.seq, $1.tile) }
        let tiles = pairs.flatMap { [$0.seq, $0.tile] }
        let plan = AttentionPlan(queryStart: metadata.queryStartTensor, tiles: try upload(.i32(tiles, shape: [tiles.count])), numTiles: tiles.count / 2,
                                 shortTokens: shortTokens.isEmpty ? nil : try upload(.i32(shortTokens, shape: [shortTokens.count])))
        lastAttentionPlan = plan
        return plan
    }

    static let minKeysPerSplit = 64
    /// `OSPREY_DECODE_SPLITS=n` splits every decode row's keys n ways (A/B comparisons of the split rule).
    static let forcedSplits = ProcessInfo.processInfo.environment["OSPREY_DECODE_SPLITS"].flatMap { Int($0) }
    /// Batches with a sequence of at least this many new tokens use the tiled prefill kernel.
    static let prefillKernelMinRows = 16
    /// Head dims with a tensor-core prefill kernel (attention_prefill_d<D> in prefill.cu).
    static let prefillMMAHeadDims: Set<Int> = [16, 32, 64, 128, 256]
    /// `OSPREY_PREFILL_MMA=0` sends every head dim to the SIMT attention_prefill (its tests).
    static let prefillMMAEnabled = ProcessInfo.processInfo.environment["OSPREY_PREFILL_MMA"] != "0"

    /// Thread blocks per (token, head): long contexts with few query rows are split so that every
    /// multiprocessor has work (decode); prefill has enough rows already. Aims at `blocksPerMultiprocessor`
    /// blocks a multiprocessor (the tensor-core kernel: as many as its shared memory lets run at once).
    func attentionSplits(rows: Int, maxSeqLen: Int, blocksPerMultiprocessor: Int = 2) -> Int {
        let wanted = blocksPerMultiprocessor * multiprocessorCount
        if rows >= wanted { return 1 }
        let byLength = (maxSeqLen + Self.minKeysPerSplit - 1) / Self.minKeysPerSplit
        return max(1, min((wanted + rows - 1) / rows, byLength))
    }

    /// DEC_STAGES_F8 of attention.cu: 2, or what OSPREY_KERNEL_DEFINES sets (read once, not per launch).
    static let decodeF8Stages = KernelSources.define("DEC_STAGES_F8") ?? 2
    /// Head dims with an attention_decode_mma_d<D> kernel (attention.cu).
    static let decodeMMAHeadDims: Set<Int> = [16, 32, 64, 80, 96, 128, 192, 256]
    /// Warps per block of attention_decode_mma (its pipelines are per warp; 4 is the most it takes).
    static let decodeMMAWarps = 4
    /// `OSPREY_DECODE_MMA=0` sends grouped-query decode to attention_decode_gqa (A/B comparisons, its tests).
    static let decodeMMAEnabled = ProcessInfo.processInfo.environment["OSPREY_DECODE_MMA"] != "0"

    /// The tensor-core decode attention for `group` query heads per KV head of size `headDim`, or nil
    /// where it does not apply (before sm_80, a group over 8 = the mma's column count, a head dim
    /// without an instantiation, or too little shared memory even for one warp). Shared memory a
    /// warp: 3 stages × (K, V) × 16 keys × (headDim + 8) bf16; for the E4M3 cache DEC_STAGES_F8 (2)
    /// stages of rows of headDim + 16 bytes. Fewer warps where 4 do not fit.
    func decodeMMA(headDim d: Int, group: Int, fp8: Bool = false) -> (name: String, warps: Int, shared: Int, blocksPerMultiprocessor: Int)? {
        guard Self.decodeMMAEnabled, computeCapability >= 80, (1...8).contains(group), Self.decodeMMAHeadDims.contains(d) else { return nil }
        let perWarp = fp8 ? Self.decodeF8Stages * 2 * 16 * (d + 16) : 3 * 2 * 16 * (d + 8) * 2
        var warps = Self.decodeMMAWarps
        while warps > 1 && warps * perWarp > maxSharedPerBlock { warps /= 2 }
        let shared = warps * perWarp
        guard shared <= maxSharedPerBlock else { return nil }
        // 1 KiB reserved per block; at most 8 (small head dims: registers and threads run out first).
        let perMultiprocessor = min(8, max(1, maxSharedPerMultiprocessor / (shared + 1024)))
        return ("attention_decode_mma_d\(d)" + (fp8 ? "_f8" : ""), warps, shared, perMultiprocessor)
    }

    public func gatherRows(_ x: Tensor, indices: Tensor) throws -> Tensor {
        let m = indices.count, d = x.lastDim
        let out = try empty([m, d], dtype: x.dtype)
        if m == 0 { return out }
        try check(x.dtype == .bf16, "gatherRows on the GPU takes bf16 rows, got \(x.dtype)")
        try launch("gather_rows", grid: (m, 1, 1), block: rowThreads(min(vectorThreads(d), 256)),
                   [.ptr(ptr(x)), .ptr(try i32(indices, "indices")), .ptr(ptr(out)), .i32(d)])
        return out
    }
}
