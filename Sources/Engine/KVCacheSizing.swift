import Models
import Tensors

/// How much device memory the KV cache may take (vLLM's profiling run): run one forward pass at
/// the largest batch the scheduler can form, so the backend's allocator holds its peak activations,
/// then give `gpu_memory_utilization` of the card, minus everything in use, to KV blocks.
enum KVCacheSizing {
    /// Bytes for KV blocks, and the activations' peak (memory the profiled pass left in use), or nil
    /// on backends without their own memory (the CPU).
    static func deviceBudget(model: any CausalLM, config: EngineConfig, maxModelLen: Int) throws -> (kv: Int, activations: Int)? {
        let backend = model.backend
        guard let before = backend.memoryInfo() else { return nil }
        let tokens = max(1, min(config.maxNumBatchedTokens, maxModelLen))
        let blockSize = config.blockSize
        let blocks = (tokens + blockSize - 1) / blockSize
        do {
            let cache = try (0..<model.numLayers).map { _ in
                try backend.allocateKVCache(numBlocks: blocks, blockSize: blockSize, numKVHeads: model.numKVHeads,
                                            headDim: model.headDim, dtype: config.kvCacheDType ?? backend.activationDType)
            }
            let metadata = try AttentionMetadata(
                blockSize: blockSize, positions: (0..<tokens).map { Int32($0) },
                slotMapping: (0..<tokens).map { Int32($0) }, queryStart: [0, Int32(tokens)], seqLens: [Int32(tokens)],
                blockTables: (0..<blocks).map { Int32($0) }, maxBlocksPerSeq: blocks, backend: backend)
            let rows = min(config.maxNumSeqs, tokens)
            let ids = try backend.upload(.i32([Int32](repeating: 0, count: tokens), shape: [tokens]))
            let logitRows = try backend.upload(.i32((0..<rows).map { Int32(tokens - rows + $0) }, shape: [rows]))
            _ = try model.forward(tokenIds: ids, metadata: metadata, kvCache: cache, logitsIndices: logitRows)
            try backend.synchronize()
        }
        guard let after = backend.memoryInfo() else { return nil }
        let used = after.total - after.free
        let budget = Int(config.gpuMemoryUtilization * Double(after.total)) - used
        guard budget > 0 else {
            throw EngineError.kvCacheTooSmall(String(
                format: "no memory left for the KV cache: %.1f GiB of %.1f GiB in use after loading and profiling (%.1f GiB free before); raise --gpu-memory-utilization or lower --max-num-batched-tokens",
                Double(used) / 1073741824, Double(after.total) / 1073741824, Double(before.free) / 1073741824))
        }
        return (budget, max(0, before.free - after.free))
    }
}
