import Models
import Tensors

/// Turns a `SchedulerOutput` into one flattened forward pass: token ids, positions, slot mapping,
/// block tables and the rows whose logits are needed (each sequence whose scheduled tokens reach
/// its end). Owns the KV cache tensors. Pure decode steps replay captured graphs where the
/// backend has them; plain greedy rows are reduced to their argmax on the device, so only token
/// ids come back.
final class ModelRunner {
    let model: any CausalLM
    let kvCache: [KVCacheLayer]
    let blockSize: Int
    let graphs: DecodeGraphs?

    init(model: any CausalLM, numBlocks: Int, blockSize: Int, maxModelLen: Int = 0, maxNumSeqs: Int = 0,
         useGraphs: Bool = false) throws {
        self.model = model
        self.blockSize = blockSize
        kvCache = try (0..<model.numLayers).map { _ in
            try model.backend.allocateKVCache(numBlocks: numBlocks, blockSize: blockSize,
                                              numKVHeads: model.numKVHeads, headDim: model.headDim)
        }
        graphs = useGraphs && model.backend.supportsGraphs
            ? DecodeGraphs(model: model, kvCache: kvCache, blockSize: blockSize, maxModelLen: maxModelLen, maxNumSeqs: maxNumSeqs)
            : nil
    }

    /// Logits a step produced for one sequence: rows of prompt positions (only with
    /// `prompt_logprobs`) and the row to sample from (when its scheduled tokens reach its end),
    /// or the token already chosen on the device (plain greedy).
    struct SequenceLogits {
        let seq: Sequence
        var promptRows: [[Float]] = []
        var sampleRow: [Float]?
        var greedyToken: Int32?
    }

    func run(_ batch: SchedulerOutput) throws -> [SequenceLogits] {
        let entries = batch.entries
        if let graphs, graphs.bucket(for: entries.count) != nil,
           entries.allSatisfy({ $0.numTokens == 1 && $0.seq.numComputedTokens + 1 == $0.seq.numTokens }) {
            let logits = try graphs.run(entries)
            return try collect(logits.rows(0..<entries.count), routes: entries.indices.map { ($0, true) }, entries: entries)
        }
        var ids: [Int32] = [], positions: [Int32] = [], slots: [Int32] = []
        var queryStart: [Int32] = [0], seqLens: [Int32] = []
        // Token rows whose logits are needed, and where each goes.
        var logitRows: [Int32] = []
        var routes: [(entry: Int, isSample: Bool)] = []
        let maxBlocks = entries.map { $0.seq.blockTable.count }.max() ?? 0
        var tables = [Int32](repeating: 0, count: entries.count * maxBlocks)
        for (i, entry) in entries.enumerated() {
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
        guard !logitRows.isEmpty else { return [] }
        return try collect(logits, routes: routes, entries: entries)
    }

    /// Brings the logits rows back to the host, or only their argmax when every row is a plain
    /// greedy sample.
    private func collect(_ logits: Tensor, routes: [(entry: Int, isSample: Bool)],
                         entries: [SchedulerOutput.Entry]) throws -> [SequenceLogits] {
        var results = entries.map { SequenceLogits(seq: $0.seq) }
        if routes.allSatisfy({ $0.isSample && entries[$0.entry].seq.isPlainGreedy }),
           let argmax = try model.backend.argmaxRows(logits) {
            for (r, token) in try model.backend.download(argmax).enumerated() {
                results[routes[r].entry].greedyToken = Int32(token)
            }
            return results
        }
        let flat = try model.backend.download(logits)
        let vocab = logits.lastDim
        for (r, route) in routes.enumerated() {
            let row = Array(flat[r * vocab ..< (r + 1) * vocab])
            if route.isSample { results[route.entry].sampleRow = row } else { results[route.entry].promptRows.append(row) }
        }
        return results
    }
}
