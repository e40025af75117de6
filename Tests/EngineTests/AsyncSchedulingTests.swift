import CPUBackend
import Engine
import Foundation
import OspreyTestSupport
import Tensors
import Testing

/// Async scheduling on CI: a backend that keeps its draws "on the device" (`ReplayingBackend`
/// with `keepsDraws`) lets the engine launch step N+1 before step N's tokens come back, feeding
/// them into N+1's inputs there. Clients must see exactly what the synchronous engine gives them,
/// including for requests that end, stop on a string, need their tokens on the host (prompt
/// logprobs) or draw from their output (penalties, min_tokens), and under preemption.
struct AsyncSchedulingTests {
    static let name = AsyncOutputProcessingTests.name
    typealias Request = AsyncOutputProcessingTests.Request

    static func backend() -> ReplayingBackend {
        let b = ReplayingBackend()
        b.samples = true
        b.keepsDraws = true
        return b
    }

    static func engine(_ backend: ReplayingBackend, scheduling: Bool, eager: Bool,
                       _ configure: (inout EngineConfig) -> Void = { _ in }) throws -> LLMEngine {
        try AsyncOutputProcessingTests.engine(backend, async: true) {
            $0.asyncScheduling = scheduling
            $0.enforceEager = eager
            configure(&$0)
        }
    }

    @Test(arguments: [false, true])
    func launchedAheadOutputsEqualSynchronousOutputs(eager: Bool) throws {
        let prompts = try Fixtures.reference(Self.name).prompts
        var withLogprobs = SamplingParams(temperature: 0, maxTokens: 6, ignoreEos: true, logprobs: 2)
        withLogprobs.promptLogprobs = 2
        var stopString = SamplingParams(temperature: 0, maxTokens: 32, ignoreEos: true)
        stopString.stop = [String(Array(try greedyText(prompts[0].ids))[6..<9])]
        var requests = [
            Request(id: "greedy", prompt: prompts[0].ids, params: SamplingParams(temperature: 0, maxTokens: 30, ignoreEos: true),
                    kind: .delta),
            // Prompt logprobs come back to the host: the step after its prefill is not launched ahead.
            Request(id: "prompt-logprobs", prompt: prompts[2].ids, params: withLogprobs, kind: .cumulative),
            Request(id: "stop-string", prompt: prompts[0].ids, params: stopString, kind: .delta),
            Request(id: "n2-seeded", prompt: prompts[1].ids,
                    params: SamplingParams(n: 2, temperature: 0.9, topP: 0.95, seed: 11, maxTokens: 14, ignoreEos: true, logprobs: 1),
                    kind: .delta),
            Request(id: "eos", prompt: Array(prompts[1].ids.prefix(20)), params: SamplingParams(temperature: 0.7, seed: 5, maxTokens: 24),
                    kind: .cumulative),
            // Penalties read the output so far: while they run, steps go ahead with their draws
            // enqueued only once the step before is finished and its tokens are in the history.
            Request(id: "penalties", prompt: prompts[2].ids,
                    params: SamplingParams(temperature: 0.8, seed: 7, maxTokens: 5, ignoreEos: true, presencePenalty: 0.5,
                                           repetitionPenalty: 1.2), kind: .delta),
            Request(id: "min-tokens", prompt: prompts[1].ids,
                    params: SamplingParams(temperature: 1, seed: 8, maxTokens: 9, minTokens: 4), kind: .delta),
        ]
        // A stop token biased far above the rest may end the request only once min_tokens are out:
        // the ban's count must take the pending token (drawn ahead, after the penalties request ended).
        var minTokensStop = SamplingParams(temperature: 1, seed: 4, maxTokens: 20, minTokens: 10)
        let stopToken = Int(prompts[1].ids[3])
        minTokensStop.stopTokenIds = [stopToken]
        minTokensStop.logitBias = [stopToken: 100]
        requests.append(Request(id: "min-tokens-stop", prompt: prompts[0].ids, params: minTokensStop, kind: .delta))
        // Greedy with every output token penalized by 4 (presence 2, frequency 2 per use) and one
        // token biased: no token twice in a row here. A draw that missed the token before it
        // (drawn ahead, not yet in the history) repeats one (checked: 350 twice).
        var penalized = SamplingParams(temperature: 0, maxTokens: 8, ignoreEos: true, presencePenalty: 2, frequencyPenalty: 2)
        penalized.logitBias = [Int(prompts[2].ids[1]): 3]
        requests.append(Request(id: "greedy-penalties", prompt: prompts[2].ids, params: penalized, kind: .delta))
        let late = Request(id: "late", prompt: prompts[1].ids,
                           params: SamplingParams(temperature: 1, seed: 3, maxTokens: 10, ignoreEos: true), kind: .delta)

        let syncBackend = Self.backend(), aheadBackend = Self.backend()
        let syncEngine = try Self.engine(syncBackend, scheduling: false, eager: eager)
        let aheadEngine = try Self.engine(aheadBackend, scheduling: true, eager: eager)
        let expected = try AsyncOutputProcessingTests.run(syncEngine, requests, late: late)
        let actual = try AsyncOutputProcessingTests.run(aheadEngine, requests, late: late)
        #expect(aheadEngine.core.asyncScheduling && !syncEngine.core.asyncScheduling)
        AsyncOutputProcessingTests.expectSameOutputs(actual, expected, requests: requests.count + 1)
        let stopped = try #require(actual["stop-string"]?.last?.output.outputs[0])
        #expect(stopped.finishReason == .stop)
        let minTokensOut = (actual["min-tokens-stop"] ?? []).flatMap { $0.output.outputs[0].tokenIds }
        #expect(minTokensOut.count == 11 && minTokensOut.last == stopToken && !minTokensOut.dropLast().contains(stopToken),
                "\(minTokensOut)")
        // Steps were launched ahead, those after a penalties step with their draws deferred (4 of
        // its 5 steps' successors), and the extra rows of sequences that ended in the step before
        // cost no token and no block.
        let penalizedOut = (actual["greedy-penalties"] ?? []).flatMap { $0.output.outputs[0].tokenIds }
        #expect(penalizedOut.count == 8 && !zip(penalizedOut, penalizedOut.dropFirst()).contains { $0 == $1 }, "\(penalizedOut)")
        let timings = aheadEngine.core.timings
        #expect(timings.aheadSteps > 10 && timings.deferredDraws >= 4 && timings.deferredDraws < timings.aheadSteps,
                "\(timings.aheadSteps) of \(timings.steps), \(timings.deferredDraws) deferred")
        #expect(syncEngine.core.timings.aheadSteps == 0)
        #expect(aheadEngine.stats.generationTokens == syncEngine.stats.generationTokens)
        #expect(aheadEngine.stats.promptTokens == syncEngine.stats.promptTokens)
        #expect(aheadEngine.stats.kvCacheUsage == 0 && syncEngine.stats.kvCacheUsage == 0)
        if !eager { #expect(aheadBackend.replays > 10) }
    }

    /// The greedy continuation's text of `prompt` (for a stop string inside it).
    func greedyText(_ prompt: [Int]) throws -> String {
        let probe = try Self.engine(Self.backend(), scheduling: false, eager: true)
        try probe.addRequest("g", prompt: .tokens(prompt), params: SamplingParams(temperature: 0, maxTokens: 32, ignoreEos: true),
                             outputKind: .finalOnly)
        var text = ""
        while probe.hasUnfinishedRequests { for out in try probe.step() { text = out.outputs[0].text } }
        return text
    }

    /// The order of work: with async scheduling each forward pass begins before the draws of the
    /// step before are waited for; without, after.
    @Test(arguments: [false, true])
    func forwardPassesBeginBeforeThePreviousDrawsAreWaitedFor(eager: Bool) throws {
        let prompt = try Fixtures.reference(Self.name).prompts[0].ids
        func trace(scheduling: Bool) throws -> [String] {
            let backend = Self.backend()
            let engine = try Self.engine(backend, scheduling: scheduling, eager: eager)
            try engine.addRequest("r", prompt: .tokens(prompt), params: SamplingParams(temperature: 0, maxTokens: 4, ignoreEos: true),
                                  outputKind: .delta)
            while engine.hasUnfinishedRequests { _ = try engine.step() }
            // Graph capture runs the body twice more (warm-up, capture) outside any step.
            return backend.trace
        }
        let sync = try trace(scheduling: false), ahead = try trace(scheduling: true)
        let captures = eager ? [] : ["forward", "forward"]
        #expect(sync == ["forward", "wait"] + captures + ["forward", "wait", "forward", "wait", "forward", "wait"])
        // Step 5 is not launched: the pending fourth token makes max_tokens.
        #expect(ahead == ["forward"] + captures + ["forward", "wait", "forward", "wait", "forward", "wait", "wait"])
    }

    /// With few KV blocks, a schedule launched ahead may not preempt (the step in flight holds its
    /// sequences' blocks): it launches nothing, and the synchronous schedule after the step
    /// finishes preempts as before. Greedy tokens stay the reference's.
    @Test func blocksRunningOutFallBackToTheSynchronousSchedule() throws {
        let reference = try Fixtures.reference(Self.name).prompts
        func run(scheduling: Bool) throws -> (tokens: [[Int]], core: EngineCore) {
            let engine = try EngineCore(model: Fixtures.loadModel(Self.name, backend: Self.backend()), config: {
                var c = EngineConfig()
                c.maxModelLen = 256
                c.numBlocks = 16  // the three prompts with their outputs need 20
                c.enforceEager = true
                c.asyncScheduling = scheduling
                return c
            }())
            let ids = try reference.map {
                try engine.add(promptTokenIds: $0.ids, params: SamplingParams(temperature: 0, maxTokens: $0.greedy.count, ignoreEos: true))
            }
            var out: [Int: [Int]] = [:]
            while engine.hasUnfinishedRequests {
                for step in try engine.step() { out[step.requestId, default: []] += step.newTokenIds }
            }
            return (ids.map { out[$0] ?? [] }, engine)
        }
        let sync = try run(scheduling: false), ahead = try run(scheduling: true)
        #expect(sync.tokens == reference.map(\.greedy))
        #expect(ahead.tokens == reference.map(\.greedy))
        #expect(ahead.core.stats.numPreemptions > 0 && sync.core.stats.numPreemptions > 0)
        #expect(ahead.core.timings.aheadSteps > 0)
        #expect(ahead.core.stats.kvCacheUsage == 0)
    }

    /// A step that fails while the next one is in flight (a device error) fails its requests,
    /// as `AsyncLLM` does, and leaves the engine able to finish what is in flight and serve the
    /// next request with the right tokens and every block back.
    @Test func aFailedStepLeavesTheEngineUsable() throws {
        let reference = try Fixtures.reference(Self.name).prompts
        let backend = Self.backend()
        backend.failingWaits = [4]
        let engine = try Self.engine(backend, scheduling: true, eager: false)
        let greedy = SamplingParams(temperature: 0, maxTokens: 12, ignoreEos: true)
        try engine.addRequest("a", prompt: .tokens(reference[0].ids), params: greedy)
        try engine.addRequest("b", prompt: .tokens(reference[1].ids), params: greedy)
        var failed = false
        while engine.hasUnfinishedRequests {
            do {
                _ = try engine.step()
            } catch {
                failed = true
                engine.abortRequest("a")
                engine.abortRequest("b")
            }
        }
        #expect(failed && engine.stats.kvCacheUsage == 0)
        try engine.addRequest("c", prompt: .tokens(reference[2].ids), params: greedy)
        var tokens: [Int] = []
        while engine.hasUnfinishedRequests { for out in try engine.step() { tokens = out.outputs[0].tokenIds } }
        #expect(tokens == Array(reference[2].greedy.prefix(12)))
        #expect(engine.stats.kvCacheUsage == 0)
    }
}
