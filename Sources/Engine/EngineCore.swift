import Models
import Tensors

/// One step's news about a request: the tokens it gained and whether it is done.
public struct StepOutput: Sendable {
    public let requestId: Int
    public let newTokenIds: [Int]
    public let finishReason: FinishReason?
    public let stopTokenId: Int?
    /// The sampled token's logprob, rank and top alternatives (NaN/0/empty unless asked for).
    public let sample: SampleResult
    /// Set once, on the step that completes the prompt, when `prompt_logprobs` was asked for.
    public let promptLogprobs: [SampleResult?]?
    /// Prompt tokens served from the prefix cache.
    public let numCachedTokens: Int
}

public struct EngineStats: Sendable {
    public let running: Int
    public let waiting: Int
    public let kvCacheUsage: Double
    /// Prompt tokens looked up in the prefix cache, and how many were found.
    public let prefixCacheQueries: Int
    public let prefixCacheHits: Int
    public let numPreemptions: Int
    /// Totals since start: prompt tokens computed (prefill) and tokens generated.
    public let promptTokens: Int
    public let generationTokens: Int

    public var prefixCacheHitRate: Double { prefixCacheQueries == 0 ? 0 : Double(prefixCacheHits) / Double(prefixCacheQueries) }
}

/// vLLM's periodic engine log line, from successive `EngineStats`.
public struct StatsLogger {
    private var last: (time: Double, prompt: Int, generation: Int)?
    public let interval: Double

    public init(interval: Double = 5) { self.interval = interval }

    /// The line to log now, or nil when less than `interval` passed since the last one.
    public mutating func line(_ stats: EngineStats, now: Double = monotonicSeconds()) -> String? {
        guard let previous = last else {
            last = (now, stats.promptTokens, stats.generationTokens)
            return nil
        }
        let dt = now - previous.time
        guard dt >= interval else { return nil }
        last = (now, stats.promptTokens, stats.generationTokens)
        return String(format: "Avg prompt throughput: %.1f tokens/s, Avg generation throughput: %.1f tokens/s, Running: %d reqs, Waiting: %d reqs, KV cache usage: %.1f%%, Prefix cache hit rate: %.1f%%",
                      Double(stats.promptTokens - previous.prompt) / dt, Double(stats.generationTokens - previous.generation) / dt,
                      stats.running, stats.waiting, stats.kvCacheUsage * 100, stats.prefixCacheHitRate * 100)
    }
}

/// The token-level engine loop: `add` requests, call `step()` until nothing is left. Each step is
/// schedule → run the model → sample → update sequences (nano-vllm's `step`), in two halves —
/// `launch` (schedule, enqueue the forward pass and the draws) and `finish` (wait for the draws,
/// update) — so that a caller can do host work while the device runs, and, with async
/// scheduling, launch the next step before finishing the one in flight (`advance`).
public final class EngineCore {
    public let model: any CausalLM
    public let config: EngineConfig
    public let maxModelLen: Int
    let scheduler: Scheduler
    let runner: ModelRunner
    private var sequences: [Int: Sequence] = [:]
    private var nextId = 0
    let eosTokenIds: Set<Int32>

    public init(model: any CausalLM, config: EngineConfig = EngineConfig(), eosTokenIds: [Int] = []) throws {
        self.model = model
        self.config = config
        maxModelLen = min(config.maxModelLen ?? model.config.maxPositionEmbeddings, model.config.maxPositionEmbeddings)
        kvCacheDType = config.kvCacheDType ?? model.backend.activationDType
        asyncScheduling = config.asyncScheduling ?? (model.backend.runsAsynchronously && model.backend.supportsAsyncScheduling)
        kvCacheBytesPerToken = kvCacheDType.byteCount(elements: 2 * model.numLayers * model.numKVHeads * model.headDim)
        let bytesPerBlock = kvCacheBytesPerToken * config.blockSize
        // More blocks than max_num_seqs full-length sequences could ever hold only waste memory.
        let usable = config.maxNumSeqs * ((maxModelLen + config.blockSize - 1) / config.blockSize)
        let budget = try config.numBlocks == nil
            ? KVCacheSizing.deviceBudget(model: model, config: config, maxModelLen: maxModelLen) : nil
        let numBlocks = config.numBlocks ?? max(1, min((budget?.kv ?? config.kvCacheBytes) / bytesPerBlock, usable))
        activationBytes = budget?.activations
        kvCacheBytes = numBlocks * bytesPerBlock
        guard numBlocks * config.blockSize >= min(maxModelLen, config.maxNumBatchedTokens) else {
            throw EngineError.kvCacheTooSmall("KV cache holds \(numBlocks * config.blockSize) tokens, less than one request of max_model_len \(maxModelLen)")
        }
        let kv = KVCacheManager(numBlocks: numBlocks, blockSize: config.blockSize,
                                enablePrefixCaching: config.enablePrefixCaching)
        scheduler = Scheduler(kvCache: kv, maxNumSeqs: config.maxNumSeqs,
                              maxNumBatchedTokens: config.maxNumBatchedTokens,
                              enableChunkedPrefill: config.enableChunkedPrefill)
        runner = try ModelRunner(model: model, numBlocks: numBlocks, blockSize: config.blockSize, maxModelLen: maxModelLen,
                                 maxNumSeqs: config.maxNumSeqs, useGraphs: !config.enforceEager, kvCacheDType: kvCacheDType)
        self.eosTokenIds = Set((eosTokenIds.isEmpty ? model.config.eosTokenIds : eosTokenIds).map { Int32($0) })
    }

    public var kvCacheTokens: Int { scheduler.kvCache.numBlocks * config.blockSize }
    public let kvCacheBytes: Int
    /// Element type of the KV cache (`--kv-cache-dtype`; auto is the activation dtype).
    public let kvCacheDType: DType
    /// Bytes of K and V a token holds in the cache, over all layers.
    public let kvCacheBytesPerToken: Int
    /// Whether steps are launched ahead (see `advance`; `EngineConfig.asyncScheduling`).
    public let asyncScheduling: Bool
    /// Device memory the profiled forward pass at the largest batch left in use (nil on the CPU).
    public let activationBytes: Int?

    /// Start-up summary of memory: weights, activations and KV cache (vLLM logs the same).
    public func memorySummary(weightBytes: Int) -> String {
        func gib(_ b: Int) -> String { String(format: "%.2f GiB", Double(b) / 1073741824) }
        var parts = ["weights \(gib(weightBytes))"]
        if let activationBytes { parts.append("activations \(gib(activationBytes)) (profiled at \(config.maxNumBatchedTokens) tokens)") }
        let dtype = kvCacheDType == model.backend.activationDType ? "" : " " + EngineConfig.kvCacheDTypeName(kvCacheDType)
        parts.append("KV cache \(gib(kvCacheBytes))\(dtype) = \(kvCacheTokens) tokens")
        return "memory on \(model.backend.name): " + parts.joined(separator: ", ")
    }
    private(set) var numPreemptions = 0
    private var promptTokens = 0
    private var generationTokens = 0

    /// Queue lengths, KV usage and prefix-cache effectiveness, for logs and metrics.
    public var stats: EngineStats {
        let kv = scheduler.kvCache
        return EngineStats(running: scheduler.running.count, waiting: scheduler.waiting.count, kvCacheUsage: kv.usage,
                           prefixCacheQueries: kv.prefixQueries, prefixCacheHits: kv.prefixHits,
                           numPreemptions: numPreemptions, promptTokens: promptTokens, generationTokens: generationTokens)
    }
    /// True while a step is in flight even when its requests are gone: it must still be finished.
    public var hasUnfinishedRequests: Bool { scheduler.hasWork || stepsInFlight > 0 }

    /// Queues a request; returns its id.
    @discardableResult
    public func add(promptTokenIds: [Int], params: SamplingParams, badWordsTokenIds: [[Int]] = []) throws -> Int {
        guard !promptTokenIds.isEmpty else { throw EngineError.emptyPrompt }
        guard promptTokenIds.count < maxModelLen else {
            throw EngineError.promptTooLong(tokens: promptTokenIds.count, maxModelLen: maxModelLen)
        }
        guard promptTokenIds.allSatisfy({ $0 >= 0 && $0 < model.config.vocabSize }) else {
            throw EngineError.invalidParameter("prompt contains token ids outside the vocabulary (0..<\(model.config.vocabSize))")
        }
        var params = params
        params.maxTokens = min(params.maxTokens, maxModelLen - promptTokenIds.count)
        let id = nextId
        nextId += 1
        let seq = Sequence(id: id, prompt: promptTokenIds.map { Int32($0) }, params: params, eosTokenIds: eosTokenIds,
                           badWordsTokenIds: badWordsTokenIds.map { $0.map { Int32($0) } })
        sequences[id] = seq
        scheduler.add(seq)
        return id
    }

    public func abort(_ id: Int) {
        guard let seq = sequences.removeValue(forKey: id) else { return }
        scheduler.finish(seq)
    }

    /// Wall time of the steps so far, by phase (the runner times its own phases).
    public var timings: StepTimings { runner.timings }
    /// Records each step's work and time from now on (`StepTimings.work`), for a benchmark.
    public func recordStepWork() { runner.timings.work = [] }

    /// A step whose forward pass and draws were enqueued by `launch` and are not yet finished.
    public struct PendingStep {
        let forward: ModelRunner.PendingForward
        /// Each entry's `numComputedTokens` once the step is done, and its prompt tokens.
        let computedAfter: [Int]
        let promptTokens: [Int]
    }

    /// Launched steps not yet finished: 0 or 1 between calls, 2 inside `advance` under async scheduling.
    public private(set) var stepsInFlight = 0
    public var stepInFlight: Bool { stepsInFlight > 0 }
    /// The step `advance` launched last; the next call finishes it.
    private var inFlight: PendingStep?

    /// One iteration of continuous batching. Without async scheduling: schedule, run, sample and
    /// update, start to end. With it, `advance`: outputs come back one call later.
    public func step() throws -> [StepOutput] {
        if asyncScheduling { return try advance() }
        guard let pending = try launch() else { return [] }
        return try finish(pending)
    }

    /// Finishes the step in flight and launches the next, returning the finished step's outputs
    /// while the next one runs on the device (the first call launches and returns none). With
    /// async scheduling the next step is launched before the one in flight is finished, so the
    /// device goes on to it without waiting for the host (vLLM's `--async-scheduling`).
    public func advance() throws -> [StepOutput] {
        guard let pending = inFlight else {
            inFlight = try launch()
            return []
        }
        let ahead = asyncScheduling ? try launchAhead(after: pending) : nil
        // From here the step launched ahead is the one in flight, also if `finish` throws (a
        // caller that recovers from a failed step must still be able to finish it).
        inFlight = ahead
        let outputs = try finish(pending)
        if let ahead, ahead.forward.drawsDeferred { inFlight = try enqueueDraws(ahead) }
        if ahead == nil { inFlight = try launch() }
        return outputs
    }

    /// Schedules the next step and enqueues its forward pass and draws; nil when there is
    /// nothing to run. The device may still be computing when this returns; `finish` completes
    /// the step. Nothing may be in flight: this schedule may preempt, which frees blocks.
    ///
    /// Between `launch` and `finish` the caller may `abort` sequences of the step (a stop string,
    /// a client gone), which frees their blocks while the device may still write into them. That
    /// is safe because every use of a block is enqueued in order on the device: a step that gives
    /// such a block to another sequence is launched later, so it runs after the stray writes,
    /// and a new owner writes each position before reading it (prefix-cache hits only reuse
    /// blocks registered after the steps that wrote them were enqueued).
    public func launch() throws -> PendingStep? {
        precondition(stepsInFlight == 0, "launch while a step is in flight: finish it first")
        return try launchStep(canPreempt: true)
    }

    /// Launches the step after `pending` before `pending` is finished, when that can be done
    /// without its tokens on the host: they must all be drawn on the device (to be fed into the
    /// inputs there). When a sequence waiting for one draws its next token from its output so
    /// far (penalties, bad words), only the forward pass goes ahead: `advance` enqueues the
    /// draws once `pending`'s tokens are appended. It never preempts (the step in flight holds its
    /// sequences' blocks): where blocks run out, or when nothing can be scheduled, it launches
    /// nothing and the caller launches after finishing.
    private func launchAhead(after pending: PendingStep) throws -> PendingStep? {
        guard pending.forward.samples != nil, pending.forward.hostRoutes.isEmpty else { return nil }
        var readsOutput = false
        for seq in scheduler.running where seq.numPendingTokens > 0 && !seq.reachesMaxTokens {
            if seq.deviceToken == nil { return nil }
            readsOutput = readsOutput || seq.samplingReadsOutput
        }
        guard let step = try launchStep(canPreempt: false, deferDraws: readsOutput) else { return nil }
        runner.timings.aheadSteps += 1
        if readsOutput { runner.timings.deferredDraws += 1 }
        return step
    }

    /// The draws of a step launched ahead with its draws deferred, now that the step before it
    /// is finished: its sequences' pending tokens go on the device.
    private func enqueueDraws(_ step: PendingStep) throws -> PendingStep {
        let forward = try runner.enqueueDraws(step.forward)
        for (j, e) in forward.drawEntries.enumerated() {
            forward.entries[e].seq.deviceToken = (forward.samples!, Int32(j))
        }
        return PendingStep(forward: forward, computedAfter: step.computedAfter, promptTokens: step.promptTokens)
    }

    private func launchStep(canPreempt: Bool, deferDraws: Bool = false) throws -> PendingStep? {
        let t0 = monotonicSeconds()
        let batch = scheduler.schedule(canPreempt: canPreempt)
        runner.timings.schedule += monotonicSeconds() - t0
        numPreemptions += batch.preempted.count
        guard !batch.isEmpty, !batch.blocked else { return nil }
        let forward = try runner.enqueue(batch, deferDraws: deferDraws)
        var computedAfter: [Int] = [], prompt: [Int] = []
        for entry in batch.entries {
            let seq = entry.seq, start = seq.numComputedTokens
            prompt.append(max(0, min(seq.promptCount, start + entry.numTokens) - start))
            seq.numComputedTokens = start + entry.numTokens
            computedAfter.append(seq.numComputedTokens)
        }
        if forward.drawsDeferred {  // every sample route's token is pending, on the device once enqueued
            for route in forward.routes where route.isSample { batch.entries[route.entry].seq.markPending(deviceToken: nil) }
        } else {
            for (j, e) in forward.drawEntries.enumerated() {
                batch.entries[e].seq.markPending(deviceToken: (forward.samples!, Int32(j)))
            }
            for r in forward.hostRoutes where forward.routes[r].isSample {
                batch.entries[forward.routes[r].entry].seq.markPending(deviceToken: nil)
            }
        }
        stepsInFlight += 1
        return PendingStep(forward: forward, computedAfter: computedAfter, promptTokens: prompt)
    }

    /// Waits for the launched step's draws, appends its tokens and finishes sequences. A
    /// sequence aborted since `launch` gets nothing: its blocks are already free (or another's
    /// after the next schedule), so no token is appended, no block registered in the prefix
    /// cache, none freed again. So does one that finished before this step (a step launched
    /// ahead may hold sequences that the step before it ended).
    public func finish(_ step: PendingStep) throws -> [StepOutput] {
        defer { stepsInFlight -= 1 }
        let step = step.forward.drawsDeferred ? try enqueueDraws(step) : step
        let results = try runner.collect(step.forward)
        let t1 = monotonicSeconds()
        defer { runner.timings.update += monotonicSeconds() - t1 }
        for (i, entry) in step.forward.entries.enumerated() where isLive(entry.seq) {
            promptTokens += step.promptTokens[i]
            scheduler.kvCache.cacheFullBlocks(entry.seq, numTokens: step.computedAfter[i])
        }
        var outputs: [StepOutput] = []
        for result in results where isLive(result.seq) {
            let seq = result.seq
            seq.promptLogitRows += result.promptRows
            guard result.sampleRow != nil || result.sampled != nil else { continue }
            var promptLogprobs: [SampleResult?]?
            if let top = seq.params.promptLogprobs, seq.numOutputTokens == 0 {
                promptLogprobs = Sampler.promptLogprobs(rows: seq.promptLogitRows, promptTokenIds: Array(seq.tokens),
                                                        top: top)
                seq.promptLogitRows = []
            }
            let sample = if let sampled = result.sampled { sampled } else {
                Sampler.sample(logits: result.sampleRow!, params: seq.params, history: seq.history,
                               badWordsTokenIds: seq.badWordsTokenIds, eosTokenIds: seq.eosTokenIds, rng: &seq.rng)
            }
            seq.append(sample.token)
            generationTokens += 1
            outputs.append(StepOutput(requestId: seq.id, newTokenIds: [Int(sample.token)], finishReason: seq.finishReason,
                                      stopTokenId: seq.stopTokenId, sample: sample, promptLogprobs: promptLogprobs,
                                      numCachedTokens: seq.numCachedTokens))
            if seq.isFinished {
                scheduler.finish(seq)
                sequences[seq.id] = nil
            }
        }
        return outputs
    }

    /// Whether `seq` is still wanted (not aborted since its step was launched).
    private func isLive(_ seq: Sequence) -> Bool { sequences[seq.id] === seq }

    /// Runs requests to completion; returns each one's generated token ids, in order.
    public func generate(_ prompts: [[Int]], params: SamplingParams) throws -> [[Int]] {
        let ids = try prompts.map { try add(promptTokenIds: $0, params: params) }
        var results: [Int: [Int]] = [:]
        while hasUnfinishedRequests {
            for out in try step() { results[out.requestId, default: []] += out.newTokenIds }
        }
        return ids.map { results[$0] ?? [] }
    }
}
