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

    /// Logits a step produced for one sequence: rows of prompt positions (only with
    /// `prompt_logprobs`) and the row to sample from (when its scheduled tokens reach its end).
    struct SequenceLogits {
        let seq: Sequence
        var promptRows: [[Float]] = []
        var sampleRow: [Float]?
    }

    func run(_ batch: SchedulerOutput) throws -> [SequenceLogits] {
        var ids: [Int32] = [], positions: [Int32] = [], slots: [Int32] = []
        var queryStart: [Int32] = [0], seqLens: [Int32] = []
        // Token rows whose logits are needed, and where each goes.
        var logitRows: [Int32] = []
        var routes: [(entry: Int, isSample: Bool)] = []
        let maxBlocks = batch.entries.map { $0.seq.blockTable.count }.max() ?? 0
        var tables = [Int32](repeating: 0, count: batch.entries.count * maxBlocks)
        for (i, entry) in batch.entries.enumerated() {
            let seq = entry.seq, start = seq.numComputedTokens, end = start + entry.numTokens
            for pos in start..<end {
                ids.append(seq.tokens[pos])
                positions.append(Int32(pos))
                slots.append(seq.blockTable[pos / blockSize] * Int32(blockSize) + Int32(pos % blockSize))
                // Prompt position p predicts prompt token p + 1.
                if seq.wantsPromptLogprobs && pos < seq.promptCount - 1 {
                    logitRows.append(Int32(ids.count - 1))
                    routes.append((i, false))
                }
            }
            queryStart.append(Int32(ids.count))
            seqLens.append(Int32(end))
            for (j, block) in seq.blockTable.enumerated() { tables[i * maxBlocks + j] = block }
            if end == seq.numTokens {
                logitRows.append(Int32(ids.count - 1))
                routes.append((i, true))
            }
        }
        let backend = model.backend
        let metadata = try AttentionMetadata(
            blockSize: blockSize, positions: positions, slotMapping: slots, queryStart: queryStart,
            seqLens: seqLens, blockTables: tables, maxBlocksPerSeq: maxBlocks, backend: backend)
        // A step of only prefill chunks still runs the model (to fill the cache) for one row.
        let rows = logitRows.isEmpty ? [0] : logitRows
        let logits = try model.forward(
            tokenIds: backend.upload(.i32(ids, shape: [ids.count])), metadata: metadata, kvCache: kvCache,
            logitsIndices: backend.upload(.i32(rows, shape: [rows.count])))
        var results = batch.entries.map { SequenceLogits(seq: $0.seq) }
        guard !logitRows.isEmpty else { return [] }
        let flat = try backend.download(logits)
        let vocab = logits.lastDim
        for (r, route) in routes.enumerated() {
            let row = Array(flat[r * vocab ..< (r + 1) * vocab])
            if route.isSample { results[route.entry].sampleRow = row } else { results[route.entry].promptRows.append(row) }
        }
        return results
    }
}
