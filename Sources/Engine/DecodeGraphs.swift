import Models
import Tensors

/// Decode steps replayed from device graphs (CUDA graphs), one captured per batch-size bucket:
/// a decode step of a large model is hundreds of small launches, and replaying them as one
/// graph removes the per-launch host cost. The graph reads its inputs from static device buffers
/// that each step overwrites with one copy; batches are padded up to the bucket (padding tokens
/// write no KV and their rows are ignored).
final class DecodeGraphs {
    /// Up to 512 sequences, as vLLM captures by default (the FP8 KV cache keeps 512 in flight on an
    /// H100: eager steps at batch 256 took 15.20 against 14.39 ms from a graph). Each bucket keeps
    /// its logits; its other buffers return to the shared pool between replays.
    static let bucketSizes = [1, 2, 4, 8, 16, 24, 32, 48, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384, 448, 512]

    let model: any CausalLM
    let kvCache: [KVCacheLayer]
    let blockSize: Int
    let maxBlocksPerSeq: Int
    let maxModelLen: Int
    let buckets: [Int]

    /// One bucket: its packed static inputs and, once captured, its graph and logits.
    private final class Bucket {
        let size: Int
        let inputs: Tensor  // i32 [ids | positions | slots | queryStart | seqLens | blockTables]
        var graph: (any CapturedGraph)?
        var logits: Tensor?
        /// Buffers the graph reads besides `inputs` (kept alive with it).
        var rows: Tensor?
        init(size: Int, inputs: Tensor) {
            self.size = size
            self.inputs = inputs
        }
    }
    private var captured: [Int: Bucket] = [:]

    init(model: any CausalLM, kvCache: [KVCacheLayer], blockSize: Int, maxModelLen: Int, maxNumSeqs: Int) {
        self.model = model
        self.kvCache = kvCache
        self.blockSize = blockSize
        self.maxModelLen = maxModelLen
        maxBlocksPerSeq = (maxModelLen + blockSize - 1) / blockSize
        buckets = Self.bucketSizes.filter { $0 <= max(maxNumSeqs, 1) }
    }

    /// The smallest bucket that holds `n` sequences, or nil when the batch is larger than all.
    func bucket(for n: Int) -> Int? { buckets.first { $0 >= n } }

    /// Runs one decode token for each entry; returns logits [bucket, vocab] (rows past the
    /// entries are padding). The tensor is the graph's own output: read it before the next step.
    /// `feeds` puts tokens still on the device into the input ids (see `ModelRunner.Feeds`).
    func run(_ entries: [SchedulerOutput.Entry], feeds: ModelRunner.Feeds? = nil) throws -> Tensor {
        guard let size = bucket(for: entries.count) else { throw BackendError.unsupported("batch of \(entries.count) exceeds the largest graph") }
        let bucket = try self.bucket(size)
        let packed = pack(entries, size: size)
        try model.backend.copy(.i32(packed, shape: [packed.count]), into: bucket.inputs)
        if let feeds {
            try model.backend.feedSampledTokens(feeds.samples, draws: feeds.draws, into: view(bucket, at: 0, size), rows: feeds.rows)
        }
        if bucket.graph == nil { try capture(bucket) }
        try bucket.graph!.replay()
        return bucket.logits!
    }

    private func bucket(_ size: Int) throws -> Bucket {
        if let b = captured[size] { return b }
        let count = size * (5 + maxBlocksPerSeq) + 1
        let b = Bucket(size: size, inputs: try model.backend.upload(.i32([Int32](repeating: 0, count: count), shape: [count])))
        captured[size] = b
        return b
    }

    /// Host inputs in the bucket's packed layout.
    private func pack(_ entries: [SchedulerOutput.Entry], size: Int) -> [Int32] {
        var ids = [Int32](repeating: 0, count: size), positions = [Int32](repeating: 0, count: size)
        var slots = [Int32](repeating: -1, count: size), seqLens = [Int32](repeating: 1, count: size)
        var tables = [Int32](repeating: 0, count: size * maxBlocksPerSeq)
        for (i, entry) in entries.enumerated() {
            let seq = entry.seq, pos = seq.numComputedTokens
            ids[i] = pos < seq.tokens.count ? seq.tokens[pos] : 0  // else fed on the device
            positions[i] = Int32(pos)
            slots[i] = seq.blockTable[pos / blockSize] * Int32(blockSize) + Int32(pos % blockSize)
            seqLens[i] = Int32(pos + 1)
            for (j, block) in seq.blockTable.enumerated() { tables[i * maxBlocksPerSeq + j] = block }
        }
        return ids + positions + slots + (0...size).map { Int32($0) } + seqLens + tables
    }

    /// `count` int32s of a bucket's packed inputs from element `offset`.
    private func view(_ bucket: Bucket, at offset: Int, _ count: Int) -> Tensor {
        Tensor(shape: [count], dtype: .i32, storage: bucket.inputs.storage, offset: bucket.inputs.offset + offset * 4)
    }

    private func capture(_ bucket: Bucket) throws {
        let b = model.backend, size = bucket.size, m = maxBlocksPerSeq
        func view(_ offset: Int, _ count: Int) -> Tensor { self.view(bucket, at: offset, count) }
        let ids = view(0, size), positions = view(size, size), slots = view(2 * size, size)
        let queryStart = view(3 * size, size + 1), seqLens = view(4 * size + 1, size)
        let tables = view(5 * size + 1, size * m).reshaped([size, m])
        let rows = try b.upload(.i32((0..<size).map { Int32($0) }, shape: [size]))
        // Host values tell kernels the largest shapes to plan for (the longest context); the
        // device values are read at replay.
        let metadata = AttentionMetadata(
            blockSize: blockSize, positions: [Int32](repeating: 0, count: size), slotMapping: [Int32](repeating: -1, count: size),
            queryStart: (0...size).map { Int32($0) }, seqLens: [Int32](repeating: Int32(maxModelLen), count: size),
            blockTables: [Int32](repeating: 0, count: size * m), maxBlocksPerSeq: m,
            tensors: (positions, slots, queryStart, seqLens, tables))
        let forward = { try self.model.forward(tokenIds: ids, metadata: metadata, kvCache: self.kvCache, logitsIndices: rows) }
        _ = try forward()  // warm-up outside the capture: library plans, kernel lookups, pool buffers
        guard let (graph, logits) = try b.capture(forward) else {
            throw BackendError.unsupported("\(b.name) cannot capture graphs")
        }
        bucket.graph = graph
        bucket.logits = logits
        bucket.rows = rows
    }
}
