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
        asyncOutputProcessing = config.asyncOutputProcessing ?? loaded.model.backend.runsAsynchronously
        core.runner.timings.outputOverlapsDevice = asyncOutputProcessing
        let g = loaded.files.generationConfig
        defaults = GenerationDefaults(temperature: g.temperature, topP: g.topP, topK: g.topK, minP: g.minP,
                                      repetitionPenalty: g.repetitionPenalty, maxTokens: nil)
    }

    /// Sampling values from generation_config.json, used where a request is silent (as vLLM does).
    public let defaults: GenerationDefaults

    /// Whether a step's outputs are processed while the device runs the next step (see
    /// `EngineConfig.asyncOutputProcessing`); `step()` then returns them one call later.
    public let asyncOutputProcessing: Bool
    public var maxModelLen: Int { core.maxModelLen }
    /// True while a step is in flight even when its requests are gone: it must still be finished.
    public var hasUnfinishedRequests: Bool { !requests.isEmpty || core.stepInFlight }
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

    /// Stops a request; its sequences' blocks are freed at once (a step in flight that holds them
    /// drops their results when it finishes).
    public func abortRequest(_ id: String) {
        guard let state = requests.removeValue(forKey: id) else { return }
        for seq in state.seqIds {
            core.abort(seq)
            owners[seq] = nil
        }
    }

    /// One engine iteration; returns the outputs of requests that changed. With async output
    /// processing it finishes the step in flight, launches the next one (with async scheduling,
    /// launches it first), and only then turns the finished step's tokens into outputs, while the
    /// device computes: outputs come back one call later (the first call returns none).
    public func step() throws -> [RequestOutput] {
        processOutputs(asyncOutputProcessing ? try core.advance() : try core.step())
    }

    /// Detokenizes, checks stop strings (aborting the sequences they end, which may be in the step
    /// in flight) and builds the outputs of requests that changed.
    private func processOutputs(_ stepOutputs: [StepOutput]) -> [RequestOutput] {
        let now = monotonicSeconds()
        defer { core.runner.timings.output += monotonicSeconds() - now }
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
