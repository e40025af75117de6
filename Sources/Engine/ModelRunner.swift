import Models
import Tensors

/// Turns a `SchedulerOutput` into one flattened forward pass: token ids, positions, slot mapping,
/// block tables and the rows whose logits are needed (each sequence whose scheduled tokens reach
/// its end). Owns the KV cache tensors. Pure decode steps replay captured graphs where the
/// backend has them; tokens are drawn on the device where the backend samples, so only token
/// ids (and requested logprobs) come back.
final class ModelRunner {
    let model: any CausalLM
    let kvCache: [KVCacheLayer]
    let blockSize: Int
    let graphs: DecodeGraphs?
    var timings = StepTimings()

    init(model: any CausalLM, numBlocks: Int, blockSize: Int, maxModelLen: Int = 0, maxNumSeqs: Int = 0,
         useGraphs: Bool = false, kvCacheDType: DType? = nil) throws {
        self.model = model
        self.blockSize = blockSize
        kvCache = try (0..<model.numLayers).map { _ in
            try model.backend.allocateKVCache(numBlocks: numBlocks, blockSize: blockSize, numKVHeads: model.numKVHeads,
                                              headDim: model.headDim, dtype: kvCacheDType ?? model.backend.activationDType)
        }
        graphs = useGraphs && model.backend.supportsGraphs
            ? DecodeGraphs(model: model, kvCache: kvCache, blockSize: blockSize, maxModelLen: maxModelLen, maxNumSeqs: maxNumSeqs)
            : nil
    }

    /// Logits a step produced for one sequence: rows of prompt positions (only with
    /// `prompt_logprobs`) and the row to sample from (when its scheduled tokens reach its end),
    /// or the token already drawn on the device.
    struct SequenceLogits {
        let seq: Sequence
        var promptRows: [[Float]] = []
        var sampleRow: [Float]?
        var sampled: SampleResult?
    }

    /// A forward pass on the device, not yet sampled: what `collect` needs to finish it.
    struct PendingForward {
        let entries: [SchedulerOutput.Entry]
        /// Logits of the rows `routes` names; nil when the step needs none (only prefill chunks).
        let logits: Tensor?
        let routes: [(entry: Int, isSample: Bool)]
    }

    /// Builds the step's inputs and enqueues its forward pass (or replays a decode graph). On a
    /// backend that runs asynchronously the device is still computing when this returns.
    func enqueue(_ batch: SchedulerOutput) throws -> PendingForward {
        let entries = batch.entries
        timings.steps += 1
        var t = monotonicSeconds()
        func lap(_ phase: WritableKeyPath<StepTimings, Double>) {
            let now = monotonicSeconds()
            timings[keyPath: phase] += now - t
            t = now
        }
        if let graphs, graphs.bucket(for: entries.count) != nil,
           entries.allSatisfy({ $0.numTokens == 1 && $0.seq.numComputedTokens + 1 == $0.seq.numTokens }) {
            timings.graphSteps += 1
            // The graph's own output buffer: `collect` reads it before the next step overwrites it.
            let logits = try graphs.run(entries)
            lap(\.forward)
            return PendingForward(entries: entries, logits: logits.rows(0..<entries.count), routes: entries.indices.map { ($0, true) })
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
        let tokenIds = try backend.upload(.i32(ids, shape: [ids.count]))
        let logitsIndices = try backend.upload(.i32(rows, shape: [rows.count]))
        lap(\.prepare)
        let logits = try model.forward(tokenIds: tokenIds, metadata: metadata, kvCache: kvCache, logitsIndices: logitsIndices)
        lap(\.forward)
        return PendingForward(entries: entries, logits: logitRows.isEmpty ? nil : logits, routes: routes)
    }

    /// Waits for the forward pass and draws the step's tokens: on the device where the backend
    /// samples, so that only the drawn tokens (and any logprobs asked for) come back; rows the
    /// device cannot serve, and prompt-logprob rows, bring their logits back to the host.
    /// Returns only once the device has finished all the step's work (`EngineCore.finish` relies
    /// on it): sampling and downloads synchronise, and a step without rows waits explicitly.
    func collect(_ pending: PendingForward) throws -> [SequenceLogits] {
        let t = monotonicSeconds()
        defer { timings.collect += monotonicSeconds() - t }
        let entries = pending.entries, routes = pending.routes
        guard let logits = pending.logits else {
            try model.backend.synchronize()
            return []
        }
        var results = entries.map { SequenceLogits(seq: $0.seq) }
        let backend = model.backend
        var rows: [RowSampling] = [], edits: [LogitEdit] = [], rowEntries: [Int] = []
        var hostRoutes: [Int] = []
        for (r, route) in routes.enumerated() {
            let seq = entries[route.entry].seq
            if route.isSample, backend.supportsSampling,
               let row = Sampler.deviceRow(Int32(r), sample: Int32(rows.count), params: seq.params, history: seq.history,
                                           badWordsTokenIds: seq.badWordsTokenIds, eosTokenIds: seq.eosTokenIds,
                                           vocab: logits.lastDim, rng: &seq.rng, edits: &edits) {
                rows.append(row)
                rowEntries.append(route.entry)
            } else {
                hostRoutes.append(r)
            }
        }
        if !rows.isEmpty {
            for (i, s) in try backend.sample(logits, rows: rows, edits: edits).enumerated() {
                results[rowEntries[i]].sampled = Sampler.result(s, params: entries[rowEntries[i]].seq.params)
            }
        }
        guard !hostRoutes.isEmpty else { return results }
        let flat = try backend.download(logits)
        let vocab = logits.lastDim
        for r in hostRoutes {
            let route = routes[r]
            let row = Array(flat[r * vocab ..< (r + 1) * vocab])
            if route.isSample { results[route.entry].sampleRow = row } else { results[route.entry].promptRows.append(row) }
        }
        return results
    }
}
