import Models
import Tensors

/// Turns a `SchedulerOutput` into one flattened forward pass: token ids, positions, slot mapping,
/// block tables and the rows whose logits are needed (each sequence whose scheduled tokens reach
/// its end). Owns the KV cache tensors.
final class ModelRunner {
    let model: any CausalLM
    let kvCache: [KVCacheLayer]
    let blockSize: Int

    init(model: any CausalLM, numBlocks: Int, blockSize: Int) throws {
        self.model = model
        self.blockSize = blockSize
        kvCache = try (0..<model.numLayers).map { _ in
            try model.backend.allocateKVCache(numBlocks: numBlocks, blockSize: blockSize,
                                              numKVHeads: model.numKVHeads, headDim: model.headDim)
        }
    }

    /// Runs the step; returns, for each sequence that samples this step, its row of logits.
    func run(_ batch: SchedulerOutput) throws -> (sampling: [Sequence], logits: [[Float]]) {
        var ids: [Int32] = [], positions: [Int32] = [], slots: [Int32] = []
        var queryStart: [Int32] = [0], seqLens: [Int32] = []
        var logitRows: [Int32] = [], sampling: [Sequence] = []
        let maxBlocks = batch.entries.map { $0.seq.blockTable.count }.max() ?? 0
        var tables = [Int32](repeating: 0, count: batch.entries.count * maxBlocks)
        for (i, entry) in batch.entries.enumerated() {
            let seq = entry.seq, start = seq.numComputedTokens, end = start + entry.numTokens
            for pos in start..<end {
                ids.append(seq.tokens[pos])
                positions.append(Int32(pos))
                slots.append(seq.blockTable[pos / blockSize] * Int32(blockSize) + Int32(pos % blockSize))
            }
            queryStart.append(Int32(ids.count))
            seqLens.append(Int32(end))
            for (j, block) in seq.blockTable.enumerated() { tables[i * maxBlocks + j] = block }
            if end == seq.numTokens {
                logitRows.append(Int32(ids.count - 1))
                sampling.append(seq)
            }
        }
        let backend = model.backend
        let metadata = try AttentionMetadata(
            blockSize: blockSize, positions: positions, slotMapping: slots, queryStart: queryStart,
            seqLens: seqLens, blockTables: tables, maxBlocksPerSeq: maxBlocks, backend: backend)
        guard !logitRows.isEmpty else {
            _ = try model.forward(tokenIds: backend.upload(.i32(ids, shape: [ids.count])), metadata: metadata,
                                  kvCache: kvCache, logitsIndices: backend.upload(.i32([0], shape: [1])))
            return ([], [])
        }
        let logits = try model.forward(
            tokenIds: backend.upload(.i32(ids, shape: [ids.count])), metadata: metadata, kvCache: kvCache,
            logitsIndices: backend.upload(.i32(logitRows, shape: [logitRows.count])))
        let flat = try backend.download(logits)
        let vocab = logits.lastDim
        return (sampling, (0..<sampling.count).map { Array(flat[$0 * vocab ..< ($0 + 1) * vocab]) })
    }
}
