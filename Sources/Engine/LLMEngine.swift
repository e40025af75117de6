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
    }

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
        let n = max(1, params.n)
        var seqIds: [Int] = []
        do {
            for i in 0..<n {
                var child = params
                if let seed = params.seed { child.seed = seed &+ UInt64(i) }
                seqIds.append(try core.add(promptTokenIds: ids, params: child))
            }
        } catch {
            for seq in seqIds { core.abort(seq) }
            throw error
        }
        let state = RequestState(id: id, prompt: text, promptTokenIds: ids, params: params, kind: outputKind,
                                 arrivalTime: arrivalTime, makeDetokenizer: { loaded.makeDetokenizer(promptIds: ids) }, n: n)
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
            state.append(index: index, tokens: out.newTokenIds, finishReason: out.finishReason,
                         stopTokenId: out.stopTokenId, now: now)
            if out.finishReason != nil { owners[out.requestId] = nil }
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
        var text = ""
        var tokenIds: [Int] = []
        var finishReason: FinishReason?
        var stopReason: StopReason?
        /// How much text and how many tokens earlier delta outputs already carried.
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
    var metrics: RequestMetrics

    init(id: String, prompt: String?, promptTokenIds: [Int], params: SamplingParams, kind: OutputKind,
         arrivalTime: Double, makeDetokenizer: () -> IncrementalDetokenizer, n: Int) {
        self.id = id
        self.prompt = prompt
        self.promptTokenIds = promptTokenIds
        self.params = params
        self.kind = kind
        completions = (0..<n).map { _ in Completion(detokenizer: makeDetokenizer()) }
        metrics = RequestMetrics(arrivalTime: arrivalTime)
    }

    var finished: Bool { completions.allSatisfy { $0.finishReason != nil } }

    func append(index: Int, tokens: [Int], finishReason: FinishReason?, stopTokenId: Int?, now: Double) {
        if metrics.firstTokenTime == nil { metrics.firstTokenTime = now }
        var c = completions[index]
        for token in tokens {
            c.tokenIds.append(token)
            c.text += c.detokenizer.append(token)
        }
        if let finishReason {
            c.text += c.detokenizer.flush()
            c.finishReason = finishReason
            c.stopReason = stopTokenId.map { .tokenId($0) }
        }
        completions[index] = c
        if finished { metrics.finishedTime = now }
    }

    /// The output to report now, per `kind`; nil when nothing is due.
    func makeOutput() -> RequestOutput? {
        if kind == .finalOnly && !finished { return nil }
        let outputs = completions.indices.map { i -> CompletionOutput in
            let c = completions[i]
            let delta = kind == .delta
            let text = delta ? String(c.text.utf8.dropFirst(c.sentText))! : c.text
            let ids = delta ? Array(c.tokenIds.dropFirst(c.sentTokens)) : c.tokenIds
            completions[i].sentText = c.text.utf8.count
            completions[i].sentTokens = c.tokenIds.count
            return CompletionOutput(index: i, text: text, tokenIds: ids, cumulativeLogprob: nil, logprobs: nil,
                                    finishReason: c.finishReason, stopReason: c.stopReason)
        }
        return RequestOutput(requestId: id, prompt: prompt, promptTokenIds: promptTokenIds, promptLogprobs: nil,
                             outputs: outputs, finished: finished, metrics: metrics)
    }
}
