import Foundation
import Tensors

/// Mixture-of-experts ops: routing on the device and the grouped expert launches of `moe.cu`.
extension CUDABackend {
    public func selectExperts(_ logits: Tensor, routing: ExpertRouting, correctionBias: Tensor?) throws -> (ids: Tensor, weights: Tensor) {
        let n = logits.rows, experts = logits.lastDim, k = routing.topK
        guard logits.dtype == .bf16 || logits.dtype == .f32 else {
            throw BackendError.unsupported("router logits must be bf16 or f32 on the GPU, got \(logits.dtype)")
        }
        guard routing.numGroups <= 64, k <= experts else {
            throw BackendError.unsupported("routing \(routing) over \(experts) experts on the GPU")
        }
        if let correctionBias, correctionBias.dtype != .f32 {
            throw BackendError.unsupported("correction bias must be f32, got \(correctionBias.dtype)")
        }
        let ids = try empty([n, k], dtype: .i32), weights = try empty([n, k], dtype: .f32)
        if n == 0 { return (ids, weights) }
        try launch(logits.dtype == .f32 ? "moe_select_f32" : "moe_select_bf16", grid: (n, 1, 1), block: 128,
                   shared: 2 * experts * 4,
                   [.ptr(ptr(logits)), .ptr(correctionBias.map { ptr($0) } ?? 0), .ptr(ptr(ids)), .ptr(ptr(weights)),
                    .i32(experts), .i32(k), .i32(routing.scoring == .sigmoid ? 1 : 0), .i32(routing.numGroups),
                    .i32(routing.topKGroups), .i32(routing.normalize ? 1 : 0), .f32(routing.scale)])
        return (ids, weights)
    }

    /// (token, slot) pairs up to which `moe` takes the grouped GEMV kernels (`moe_gate_up_gemv`,
    /// `moe_down_gemv`) instead of align + tiled kernels: one expert per pair read at near copy bandwidth,
    /// against 150-190 GB/s for a tile holding one token. `OSPREY_MOE_GEMV_MAX_PAIRS` lowers it (0: tiled only).
    static let moeGemvMaxPairs = min(64, ProcessInfo.processInfo.environment["OSPREY_MOE_GEMV_MAX_PAIRS"].flatMap { Int($0) } ?? 64)

    /// Tokens up to which `moe` may take the GEMV kernels (with at most `moeGemvMaxPairs` pairs). The two
    /// paths sum in different orders (a token's bf16 result may differ in the last bit), so the switch
    /// sits below prompt lengths: a short prompt prefilled alone takes the tiled path as it does in a
    /// batch (gpu-check's exact batch invariance, 7-token prompts), and decode batches of 1-4 take the
    /// GEMVs whatever their composition. `OSPREY_MOE_GEMV_MAX_TOKENS` moves it (at most 64).
    static let moeGemvMaxTokens = min(64, ProcessInfo.processInfo.environment["OSPREY_MOE_GEMV_MAX_TOKENS"].flatMap { Int($0) } ?? 4)

    /// Tensor-core kernels for the grouped expert GEMMs (`moe_gate_up_mma`, `moe_down_mma`): opt-in
    /// with `OSPREY_MOE_MMA=1` until gpu-check has passed them on a GPU (written 12-07 VII, when no
    /// device time was left to run them). The float kernels are the default.
    static let moeMMAEnabled = ProcessInfo.processInfo.environment["OSPREY_MOE_MMA"] == "1"

    /// Whether `moe` takes the tensor-core kernels for its tiled path on this device.
    public var moeTensorCores: Bool { Self.moeMMAEnabled && computeCapability >= 80 }

    public func moe(_ x: Tensor, gateUp: Tensor, down: Tensor, expertIds: Tensor, expertWeights: Tensor) throws -> Tensor {
        try moe(x, gateUp: gateUp, down: down, expertIds: expertIds, expertWeights: expertWeights, tensorCores: Self.moeMMAEnabled)
    }

    /// `moe` with the route of the tiled path chosen (gpu-check compares the two).
    public func moe(_ x: Tensor, gateUp: Tensor, down: Tensor, expertIds: Tensor, expertWeights: Tensor,
                    tensorCores: Bool) throws -> Tensor {
        let n = x.rows, hidden = x.lastDim, experts = gateUp.shape[0], inter = gateUp.shape[1] / 2, k = expertIds.lastDim
        guard x.dtype == .bf16, gateUp.dtype == .bf16, down.dtype == .bf16 else {
            throw BackendError.unsupported("moe on the GPU needs bf16 activations and expert weights (got \(x.dtype), \(gateUp.dtype), \(down.dtype))")
        }
        guard gateUp.shape == [experts, 2 * inter, hidden], down.shape == [experts, hidden, inter],
              expertIds.rows == n, expertWeights.count == n * k else {
            throw BackendError.failure("moe: x \(x.shape), gateUp \(gateUp.shape), down \(down.shape), ids \(expertIds.shape)")
        }
        guard hidden % 8 == 0, inter % 8 == 0 else {
            throw BackendError.unsupported("moe on the GPU needs hidden and expert sizes divisible by 8 (\(hidden), \(inter))")
        }
        let out = try empty([n, hidden])
        if n == 0 { return out }
        let pairs = n * k
        if pairs <= Self.moeGemvMaxPairs, n <= Self.moeGemvMaxTokens, computeCapability >= 80, ptr(x) % 16 == 0, ptr(gateUp) % 16 == 0,
           ptr(down) % 16 == 0, k > 0 {
            // Few (token, slot) pairs (decode): grouped GEMVs that stream each pair's expert rows, no align.
            let h = try empty([pairs, inter]), warps = 4  // MOEV_WARPS in moe.cu
            if ptr(h) % 16 == 0 {
                try launch("moe_gate_up_gemv", grid: ((inter + warps - 1) / warps, pairs, 1), block: 32 * warps,
                           [.ptr(ptr(x)), .ptr(ptr(gateUp)), .ptr(ptr(expertIds)), .ptr(ptr(h)),
                            .i32(hidden), .i32(inter), .i32(k), .i32(experts)])
                try launch("moe_down_gemv", grid: ((hidden + warps - 1) / warps, n, 1), block: 32 * warps,
                           [.ptr(ptr(h)), .ptr(ptr(down)), .ptr(ptr(expertIds)), .ptr(ptr(expertWeights)), .ptr(ptr(out)),
                            .i32(hidden), .i32(inter), .i32(k), .i32(experts)])
                return out
            }
        }
        // Tensor cores take 64 rows a tile (opt-in, see moeMMAEnabled; sm_80 and later); the float kernels 16.
        let mma = tensorCores && computeCapability >= 80 && ptr(x) % 16 == 0 && ptr(gateUp) % 16 == 0 && ptr(down) % 16 == 0
        let tileRows = mma ? 64 : 16, maxTiles = (pairs + tileRows - 1) / tileRows + experts
        let sorted = try empty([pairs], dtype: .i32), offsets = try empty([experts + 1], dtype: .i32)
        let tileExpert = try empty([maxTiles], dtype: .i32), tileStart = try empty([maxTiles], dtype: .i32)
        let tileCount = try empty([1], dtype: .i32)
        try launch("moe_align", grid: (1, 1, 1), block: 1024, shared: 2 * experts * 4,
                   [.ptr(ptr(expertIds)), .i32(pairs), .i32(experts), .ptr(ptr(sorted)), .ptr(ptr(offsets)),
                    .ptr(ptr(tileExpert)), .ptr(ptr(tileStart)), .ptr(ptr(tileCount)), .i32(tileRows)])
        let h = try empty([pairs, inter])
        try launch(mma ? "moe_gate_up_mma" : "moe_gate_up", grid: (maxTiles, (inter + 63) / 64, 1), block: mma ? 128 : 256,
                   [.ptr(ptr(x)), .ptr(ptr(gateUp)), .ptr(ptr(sorted)), .ptr(ptr(offsets)), .ptr(ptr(tileExpert)),
                    .ptr(ptr(tileStart)), .ptr(ptr(tileCount)), .ptr(ptr(h)), .i32(hidden), .i32(inter), .i32(k)])
        let y = try empty([pairs, hidden], dtype: .f32)
        try launch(mma ? "moe_down_mma" : "moe_down", grid: (maxTiles, (hidden + 63) / 64, 1), block: mma ? 128 : 256,
                   [.ptr(ptr(h)), .ptr(ptr(down)), .ptr(ptr(expertWeights)), .ptr(ptr(sorted)), .ptr(ptr(offsets)),
                    .ptr(ptr(tileExpert)), .ptr(ptr(tileStart)), .ptr(ptr(tileCount)), .ptr(ptr(y)), .i32(hidden), .i32(inter)])
        try launch("moe_combine", grid: (n, 1, 1), block: min(1024, (hidden + 31) / 32 * 32),
                   [.ptr(ptr(y)), .ptr(ptr(expertIds)), .ptr(ptr(out)), .i32(hidden), .i32(k), .i32(experts)])
        return out
    }
}
