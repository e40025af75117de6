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
    /// When the last step's collection ended (`StepWork.seconds`).
    private var lastCollected = 0.0

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

    /// A forward pass on the device with its draws enqueued: what `collect` needs to finish it.
    struct PendingForward {
        let entries: [SchedulerOutput.Entry]
        /// Logits of the rows `routes` names; nil when the step needs none (only prefill chunks).
        let logits: Tensor?
        let routes: [(entry: Int, isSample: Bool)]
        /// The draws enqueued on the device and the entry of each; nil when none.
        let samples: (any PendingSamples)?
        let drawEntries: [Int]
        /// Routes whose logits come back to the host: rows the device sampler leaves to the host
        /// sampler, and prompt-logprob rows.
        let hostRoutes: [Int]
        /// The forward pass is enqueued, its draws not yet (`enqueueDraws`).
        var drawsDeferred = false
        /// The step's work, when `timings.work` records it.
        var work: StepWork?
    }

    /// Tokens that step N drew on the device and step N+1, launched before N finished, takes as
    /// input: ids[rows[j]] = draw draws[j] of `samples`.
    struct Feeds {
        let samples: any PendingSamples
        var draws: [Int32] = []
        var rows: [Int32] = []
    }

    /// Builds the step's inputs, enqueues its forward pass (or replays a decode graph) and the
    /// device's draws. On a backend that runs asynchronously the device is still computing when
    /// this returns. A position past a sequence's known tokens is its pending token, which must
    /// be on the device (`Sequence.deviceToken`): it is fed into the inputs there.
    ///
    /// With `deferDraws` only the forward pass is enqueued; `enqueueDraws` adds the draws later,
    /// once the sequences' histories are complete on the host.
    func enqueue(_ batch: SchedulerOutput, deferDraws: Bool = false) throws -> PendingForward {
        let entries = batch.entries
        timings.steps += 1
        var t = monotonicSeconds()
        let work = timings.work == nil ? nil : StepWork(entries, at: t)
        func lap(_ phase: WritableKeyPath<StepTimings, Double>) {
            let now = monotonicSeconds()
            timings[keyPath: phase] += now - t
            t = now
        }
        var feeds: Feeds?
        // The step's draws, or with `deferDraws` the forward pass alone.
        func drawn(_ logits: Tensor?, _ routes: [(entry: Int, isSample: Bool)]) throws -> PendingForward {
            var pending = deferDraws
                ? PendingForward(entries: entries, logits: logits, routes: routes, samples: nil, drawEntries: [],
                                 hostRoutes: [], drawsDeferred: true)
                : try draw(entries: entries, logits: logits, routes: routes)
            pending.work = work
            return pending
        }
        func feed(_ seq: Sequence, row: Int) throws {
            guard let token = seq.deviceToken else {
                throw BackendError.failure("sequence \(seq.id)'s pending token is not on the device")
            }
            if feeds == nil { feeds = Feeds(samples: token.samples) }
            guard feeds!.samples === token.samples else {
                throw BackendError.failure("pending tokens of one step come from one step's draws")
            }
            feeds!.draws.append(token.draw)
            feeds!.rows.append(Int32(row))
        }
        if let graphs, graphs.bucket(for: entries.count) != nil,
           entries.allSatisfy({ $0.numTokens == 1 && $0.seq.numComputedTokens + 1 == $0.seq.numTokens }) {
            timings.graphSteps += 1
            for (i, entry) in entries.enumerated() where entry.seq.numComputedTokens >= entry.seq.tokens.count {
                try feed(entry.seq, row: i)
            }
            // The graph's own output buffer: the draws read it before the next replay overwrites it.
            let logits = try graphs.run(entries, feeds: feeds)
            lap(\.forward)
            let routes = entries.indices.map { ($0, true) }
            return try drawn(logits.rows(0..<entries.count), routes)
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
                if pos < seq.tokens.count {
                    ids.append(seq.tokens[pos])
                } else {
                    try feed(seq, row: ids.count)
                    ids.append(0)
                }
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
        if let feeds { try backend.feedSampledTokens(feeds.samples, draws: feeds.draws, into: tokenIds, rows: feeds.rows) }
        let logitsIndices = try backend.upload(.i32(rows, shape: [rows.count]))
        lap(\.prepare)
        let logits = try model.forward(tokenIds: tokenIds, metadata: metadata, kvCache: kvCache, logitsIndices: logitsIndices)
        lap(\.forward)
        return try drawn(logitRows.isEmpty ? nil : logits, routes)
    }

    /// Enqueues the draws of a forward pass enqueued with `deferDraws` (after it on the device).
    /// Each sequence's own pending token is this step's, so it does not count as drawn output.
    func enqueueDraws(_ pending: PendingForward) throws -> PendingForward {
        precondition(pending.drawsDeferred, "the step's draws are already enqueued")
        var drawn = try draw(entries: pending.entries, logits: pending.logits, routes: pending.routes, ownPending: 1)
        drawn.work = pending.work
        return drawn
    }

    /// Enqueues the device's draws for the sample routes it can serve (rows and logit edits from
    /// each sequence's parameters, history and random stream); the others are left to the host.
    private func draw(entries: [SchedulerOutput.Entry], logits: Tensor?, routes: [(entry: Int, isSample: Bool)],
                      ownPending: Int = 0) throws -> PendingForward {
        let t = monotonicSeconds()
        defer { timings.sample += monotonicSeconds() - t }
        let backend = model.backend
        var rows: [RowSampling] = [], edits: [LogitEdit] = [], drawEntries: [Int] = [], hostRoutes: [Int] = []
        if let logits {
            for (r, route) in routes.enumerated() {
                let seq = entries[route.entry].seq
                if route.isSample, backend.supportsSampling,
                   let row = Sampler.deviceRow(Int32(r), sample: Int32(rows.count), params: seq.params, history: seq.history,
                                               badWordsTokenIds: seq.badWordsTokenIds, eosTokenIds: seq.eosTokenIds,
                                               vocab: logits.lastDim, pendingTokens: seq.numPendingTokens - ownPending,
                                               rng: &seq.rng, edits: &edits) {
                    rows.append(row)
                    drawEntries.append(route.entry)
                } else {
                    hostRoutes.append(r)
                }
            }
        }
        let samples = rows.isEmpty ? nil : try backend.enqueueSample(logits!, rows: rows, edits: edits)
        return PendingForward(entries: entries, logits: logits, routes: routes, samples: samples, drawEntries: drawEntries,
                              hostRoutes: hostRoutes)
    }

    /// Waits for the step's draws and brings back the logits of its host routes. Returns once
    /// the device has finished the step's work, though not necessarily later steps' (its draws
    /// wait for an event; a step without draws waits for the device).
    func collect(_ pending: PendingForward) throws -> [SequenceLogits] {
        precondition(!pending.drawsDeferred, "collecting a step whose draws were never enqueued")
        let t = monotonicSeconds()
        defer {
            let now = monotonicSeconds()
            timings.collect += now - t
            if var work = pending.work {
                work.seconds = now - max(work.enqueued, lastCollected)
                timings.work?.append(work)
            }
            lastCollected = now
        }
        let entries = pending.entries, routes = pending.routes
        var results = entries.map { SequenceLogits(seq: $0.seq) }
        if let samples = pending.samples {
            for (j, s) in try samples.wait().enumerated() {
                let e = pending.drawEntries[j]
                results[e].sampled = Sampler.result(s, params: entries[e].seq.params)
            }
        }
        guard let logits = pending.logits, !pending.hostRoutes.isEmpty else {
            if pending.samples == nil { try model.backend.synchronize() }
            return results
        }
        let flat = try model.backend.download(logits)
        let vocab = logits.lastDim
        for r in pending.hostRoutes {
            let route = routes[r]
            let row = Array(flat[r * vocab ..< (r + 1) * vocab])
            if route.isSample { results[route.entry].sampleRow = row } else { results[route.entry].promptRows.append(row) }
        }
        return results
    }
}
