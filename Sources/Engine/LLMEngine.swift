import Foundation
import Models
import Tokenizers

/// The text-level engine (vLLM's `LLMEngine`): tokenizes prompts, fans a request out into its `n`
/// sequences on the `EngineCore`, detokenizes new tokens incrementally, and reports vLLM-shaped
/// `RequestOutput`s after each step.
public final class LLMEngine {
    public let loaded: LoadedModel
    public let core: EngineCore
    private var requests: [String: RequestState] = [:]
    /// Core sequence id → (request id, completion index).
    private var owners: [Int: (String, Int)] = [:]

    public init(loaded: LoadedModel, config: EngineConfig = EngineConfig()) throws {
        self.loaded = loaded
        var config = config
        config.maxModelLen = config.maxModelLen ?? loaded.maxModelLen
        core = try EngineCore(model: loaded.model, config: config, eosTokenIds: loaded.eosTokenIds)
        let g = loaded.files.generationConfig
        defaults = GenerationDefaults(temperature: g.temperature, topP: g.topP, topK: g.topK, minP: g.minP,
                                      repetitionPenalty: g.repetitionPenalty, maxTokens: nil)
    }

    /// Sampling values from generation_config.json, used where a request is silent (as vLLM does).
    public let defaults: GenerationDefaults

    public var maxModelLen: Int { core.maxModelLen }
    public var hasUnfinishedRequests: Bool { !requests.isEmpty }
    public var stats: EngineStats { core.stats }

    /// Queues a request. Throws for an invalid one, leaving the engine unchanged.
    public func addRequest(_ id: String, prompt: PromptInput, params: SamplingParams,
                           outputKind: OutputKind = .cumulative, arrivalTime: Double = monotonicSeconds()) throws {
        guard requests[id] == nil else { throw EngineError.invalidParameter("request id '\(id)' is already in use") }
        let (text, ids): (String?, [Int]) = switch prompt {
        case .text(let t): (t, loaded.encode(t))
        case .tokens(let t): (nil, t)
        }
        var params = params
        params.applyDefaults(from: defaults)
        try params.validate(vocabSize: loaded.model.config.vocabSize)
        let badWords = params.badWordsTokenIds { loaded.encode($0, addSpecialTokens: false) }.map { $0.map(Int.init) }
        let n = max(1, params.n)
        var seqIds: [Int] = []
        do {
            for i in 0..<n {
                var child = params
                if let seed = params.seed { child.seed = seed &+ UInt64(i) }
                seqIds.append(try core.add(promptTokenIds: ids, params: child, badWordsTokenIds: badWords))
            }
        } catch {
            for seq in seqIds { core.abort(seq) }
            throw error
        }
        let state = RequestState(id: id, prompt: text, promptTokenIds: ids, params: params, kind: outputKind,
                                 arrivalTime: arrivalTime, n: n,
                                 makeDetokenizer: { loaded.makeDetokenizer(promptIds: ids, skipSpecialTokens: params.skipSpecialTokens) },
                                 decodeToken: { [tokenizer = loaded.tokenizer] in tokenizer.decode([$0]) })
        state.seqIds = seqIds
        for (i, seq) in seqIds.enumerated() { owners[seq] = (id, i) }
        requests[id] = state
    }

    /// Stops a request; its sequences' blocks are freed at once.
    public func abortRequest(_ id: String) {
        guard let state = requests.removeValue(forKey: id) else { return }
        for seq in state.seqIds {
            core.abort(seq)
            owners[seq] = nil
        }
    }

    /// One engine iteration; returns the outputs of requests that changed.
    public func step() throws -> [RequestOutput] {
        let stepOutputs = try core.step()
        let now = monotonicSeconds()
        var touched: [String] = []
        for out in stepOutputs {
            guard let (id, index) = owners[out.requestId], let state = requests[id] else { continue }
            let stoppedByString = state.append(index: index, output: out, now: now)
            if stoppedByString { core.abort(out.requestId) }
            if out.finishReason != nil || stoppedByString { owners[out.requestId] = nil }
            if !touched.contains(id) { touched.append(id) }
        }
        var results: [RequestOutput] = []
        for id in touched {
            guard let state = requests[id] else { continue }
            if state.finished { requests[id] = nil }
            if let output = state.makeOutput() { results.append(output) }
        }
        return results
    }
}

/// Seconds on a monotonic clock.
public func monotonicSeconds() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }

/// A request's completions as they grow.
final class RequestState {
    struct Completion {
        var detokenizer: IncrementalDetokenizer
        var stopChecker: StopChecker
        /// Text released so far (stop strings cut, held-back text not yet included).
        var text = ""
        var tokenIds: [Int] = []
        var cumulativeLogprob: Double = 0
        var logprobs: [[Logprob]] = []
        var finishReason: FinishReason?
        var stopReason: StopReason?
        /// How much text, how many tokens and logprob positions earlier delta outputs carried.
        var sentText = 0
        var sentTokens = 0
    }

    let id: String
    let prompt: String?
    let promptTokenIds: [Int]
    let params: SamplingParams
    let kind: OutputKind
    var seqIds: [Int] = []
    var completions: [Completion]
    var promptLogprobs: [[Logprob]?]?
    private var promptLogprobsSent = false
    var metrics: RequestMetrics
    private let decodeToken: (Int) -> String

    init(id: String, prompt: String?, promptTokenIds: [Int], params: SamplingParams, kind: OutputKind,
         arrivalTime: Double, n: Int, makeDetokenizer: () -> IncrementalDetokenizer, decodeToken: @escaping (Int) -> String) {
        self.id = id
        self.prompt = prompt
        self.promptTokenIds = promptTokenIds
        self.params = params
        self.kind = kind
        self.decodeToken = decodeToken
        completions = (0..<n).map { _ in Completion(detokenizer: makeDetokenizer(), stopChecker: StopChecker(params: params)) }
        metrics = RequestMetrics(arrivalTime: arrivalTime)
    }

    var finished: Bool { completions.allSatisfy { $0.finishReason != nil } }

    /// Adds one step's tokens to completion `index`. Returns true when a stop string ended it (the
    /// caller then stops its sequence).
    func append(index: Int, output out: StepOutput, now: Double) -> Bool {
        if metrics.firstTokenTime == nil {
            metrics.firstTokenTime = now
            metrics.numCachedTokens = out.numCachedTokens
        }
        if let rows = out.promptLogprobs, promptLogprobs == nil { promptLogprobs = rows.map { $0.map(logprobEntries) } }
        var c = completions[index]
        guard c.finishReason == nil else { return false }
        var stoppedByString = false
        for token in out.newTokenIds {
            c.tokenIds.append(token)
            if params.logprobs != nil {
                c.cumulativeLogprob += Double(out.sample.logprob)
                c.logprobs.append(logprobEntries(out.sample))
            }
            let update = c.stopChecker.append(c.detokenizer.append(token), numOutputTokens: c.tokenIds.count)
            c.text += update.delta
            if let stop = update.stopReason {
                c.finishReason = .stop
                c.stopReason = .string(stop)
                stoppedByString = true
                break
            }
        }
        if !stoppedByString, let finishReason = out.finishReason {
            c.text += c.stopChecker.append(c.detokenizer.flush()).delta
            c.text += c.stopChecker.finish()
            c.finishReason = finishReason
            c.stopReason = out.stopTokenId.map { .tokenId($0) }
        }
        completions[index] = c
        if finished { metrics.finishedTime = now }
        return stoppedByString
    }

    /// The sampled token first, then the top alternatives (vLLM's per-position dict, ordered).
    private func logprobEntries(_ sample: SampleResult) -> [Logprob] {
        var entries = [Logprob(tokenId: Int(sample.token), logprob: sample.logprob, rank: sample.rank,
                               decodedToken: decodeToken(Int(sample.token)))]
        for (i, alt) in sample.topLogprobs.enumerated() where alt.id != sample.token {
            entries.append(Logprob(tokenId: Int(alt.id), logprob: alt.logprob, rank: i + 1, decodedToken: decodeToken(Int(alt.id))))
        }
        return entries
    }

    /// The output to report now, per `kind`; nil when nothing is due.
    func makeOutput() -> RequestOutput? {
        if kind == .finalOnly && !finished { return nil }
        let delta = kind == .delta
        let outputs = completions.indices.map { i -> CompletionOutput in
            let c = completions[i]
            let text = delta ? String(decoding: c.text.utf8.dropFirst(c.sentText), as: UTF8.self) : c.text
            let ids = delta ? Array(c.tokenIds.dropFirst(c.sentTokens)) : c.tokenIds
            let logprobs = params.logprobs == nil ? nil : (delta ? Array(c.logprobs.dropFirst(c.sentTokens)) : c.logprobs)
            completions[i].sentText = c.text.utf8.count
            completions[i].sentTokens = c.tokenIds.count
            return CompletionOutput(index: i, text: text, tokenIds: ids,
                                    cumulativeLogprob: params.logprobs == nil ? nil : c.cumulativeLogprob,
                                    logprobs: logprobs, finishReason: c.finishReason, stopReason: c.stopReason)
        }
        // Prompt logprobs go out once: with the first delta, or in every cumulative output.
        let sendPrompt = !delta || !promptLogprobsSent
        if promptLogprobs != nil { promptLogprobsSent = true }
        return RequestOutput(requestId: id, prompt: prompt, promptTokenIds: promptTokenIds,
                             promptLogprobs: sendPrompt ? promptLogprobs : nil,
                             outputs: outputs, finished: finished, metrics: metrics)
    }
}
