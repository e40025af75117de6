import CPUBackend
import Engine
import Foundation
import OspreyTestSupport
import Tensors
import Testing

/// Async output processing forced on over the CPU backend: a step's outputs are processed after
/// the next step was enqueued, and what clients see is what the synchronous path gives them.
struct AsyncOutputProcessingTests {
    static let name = "llama-gqa"

    static func engine(_ backend: any Backend, async: Bool, _ configure: (inout EngineConfig) -> Void = { _ in }) throws -> LLMEngine {
        let loaded = try LoadedModel.load(path: Fixtures.directory.appendingPathComponent(name).path, backend: backend, maxModelLen: 512)
        var config = EngineConfig()
        config.numBlocks = 128
        config.asyncOutputProcessing = async
        configure(&config)
        return try LLMEngine(loaded: loaded, config: config)
    }

    struct Request {
        let id: String
        let prompt: [Int]
        let params: SamplingParams
        let kind: OutputKind
    }

    /// What a client sees of one output, timings aside; logprob values apart, to compare with a
    /// tolerance (a batch of another size may round differently in the last bits).
    struct Seen {
        var shape = ""
        var logprobs: [Double] = []
        let output: RequestOutput

        init(_ out: RequestOutput) {
            output = out
            shape = "finished \(out.finished); prompt"
            for row in out.promptLogprobs ?? [] {
                shape += " " + (row?.map { "\($0.tokenId)/\($0.rank)" }.joined(separator: ",") ?? "-")
                logprobs += row?.map { Double($0.logprob) } ?? []
            }
            for c in out.outputs {
                shape += " | \(c.index) \(c.text.debugDescription) \(c.tokenIds) \(String(describing: c.finishReason)) \(String(describing: c.stopReason))"
                for position in c.logprobs ?? [] {
                    shape += " " + position.map { "\($0.tokenId)/\($0.rank)/\($0.decodedToken.debugDescription)" }.joined(separator: ",")
                    logprobs += position.map { Double($0.logprob) }
                }
                if let cumulative = c.cumulativeLogprob { logprobs.append(cumulative) }
            }
        }
    }

    /// Adds `requests` (and `late` before the fourth step), steps to the end; each request's outputs in order.
    static func run(_ engine: LLMEngine, _ requests: [Request], late: Request) throws -> [String: [Seen]] {
        var seen: [String: [Seen]] = [:]
        for r in requests { try engine.addRequest(r.id, prompt: .tokens(r.prompt), params: r.params, outputKind: r.kind) }
        var calls = 0
        while engine.hasUnfinishedRequests {
            calls += 1
            if calls == 4 { try engine.addRequest(late.id, prompt: .tokens(late.prompt), params: late.params, outputKind: late.kind) }
            for out in try engine.step() { seen[out.requestId, default: []].append(Seen(out)) }
        }
        return seen
    }

    /// Every request saw the same outputs in both runs (logprobs within 1e-4: a batch of another
    /// size may round differently in the last bits).
    static func expectSameOutputs(_ actual: [String: [Seen]], _ expected: [String: [Seen]], requests: Int) {
        #expect(Set(actual.keys) == Set(expected.keys) && expected.count == requests)
        for (id, want) in expected {
            let got = actual[id] ?? []
            #expect(got.map(\.shape) == want.map(\.shape), "\(id)")
            for (a, b) in zip(got, want) {
                #expect(a.logprobs.count == b.logprobs.count && zip(a.logprobs, b.logprobs).allSatisfy { abs($0 - $1) <= 1e-4 }, "\(id): logprobs")
            }
        }
    }

    enum Setup: String, CaseIterable {
        /// The CPU backend, prefill in chunks of 32 tokens, prefix caching on.
        case cpuChunked
        /// Device sampling and replayed decode graphs (`ReplayingBackend`), prefix caching off.
        case deviceSamplingGraphs
    }

    @Test(arguments: Setup.allCases)
    func pipelinedOutputsEqualSynchronousOutputs(_ setup: Setup) throws {
        let prompts = try Fixtures.reference(Self.name).prompts
        func engine(async: Bool) throws -> LLMEngine {
            switch setup {
            case .cpuChunked:
                return try Self.engine(CPUBackend(), async: async) { $0.maxNumBatchedTokens = 32 }
            case .deviceSamplingGraphs:
                let backend = ReplayingBackend()
                backend.samples = true
                return try Self.engine(backend, async: async) { $0.enablePrefixCaching = false }
            }
        }
        // A stop string a few characters into the greedy continuation of prompt 0.
        var greedy = SamplingParams(temperature: 0, maxTokens: 32, ignoreEos: true)
        let probe = try engine(async: false)
        try probe.addRequest("g", prompt: .tokens(prompts[0].ids), params: greedy, outputKind: .finalOnly)
        var text = ""
        while probe.hasUnfinishedRequests { for out in try probe.step() { text = out.outputs[0].text } }
        let stop = String(Array(text)[6..<9])
        greedy.stop = [stop]

        var withLogprobs = SamplingParams(temperature: 0, maxTokens: 20, ignoreEos: true, logprobs: 2)
        withLogprobs.promptLogprobs = 2
        let requests = [
            Request(id: "logprobs", prompt: prompts[0].ids, params: withLogprobs, kind: .cumulative),
            Request(id: "stop-string", prompt: prompts[0].ids, params: greedy, kind: .delta),
            Request(id: "n2-seeded", prompt: prompts[1].ids,
                    params: SamplingParams(n: 2, temperature: 0.9, topP: 0.95, seed: 11, maxTokens: 14, ignoreEos: true, logprobs: 1),
                    kind: .delta),
            Request(id: "short", prompt: prompts[2].ids, params: SamplingParams(temperature: 0, maxTokens: 3, ignoreEos: true),
                    kind: .finalOnly),
            Request(id: "eos", prompt: Array(prompts[1].ids.prefix(20)), params: SamplingParams(temperature: 0.7, seed: 5, maxTokens: 24),
                    kind: .cumulative),
        ]
        let late = Request(id: "late", prompt: prompts[1].ids,
                           params: SamplingParams(temperature: 1, seed: 3, maxTokens: 10, ignoreEos: true), kind: .delta)

        let syncEngine = try engine(async: false), asyncEngine = try engine(async: true)
        let expected = try Self.run(syncEngine, requests, late: late)
        let actual = try Self.run(asyncEngine, requests, late: late)
        #expect(asyncEngine.asyncOutputProcessing && !syncEngine.asyncOutputProcessing)
        Self.expectSameOutputs(actual, expected, requests: requests.count + 1)
        // The stop string ended its request early: its sequence was in the step in flight.
        let stopped = try #require(actual["stop-string"]?.last?.output.outputs[0])
        #expect(stopped.finishReason == .stop && stopped.stopReason == .string(stop))
        #expect((actual["stop-string"] ?? []).flatMap { $0.output.outputs[0].tokenIds }.count < greedy.maxTokens)
        // No token was added to a sequence after it was stopped, and every block came back.
        #expect(asyncEngine.stats.generationTokens == syncEngine.stats.generationTokens)
        #expect(asyncEngine.stats.promptTokens == syncEngine.stats.promptTokens)
        #expect(asyncEngine.stats.kvCacheUsage == 0 && syncEngine.stats.kvCacheUsage == 0)
    }

    @Test func outputsOfAStepAreProcessedAfterTheNextStepIsEnqueued() throws {
        let prompt = try Fixtures.reference(Self.name).prompts[0].ids
        /// Forward passes begun before the first token was processed, and after each `step()`
        /// call: forward passes begun and tokens reported.
        func trace(async: Bool) throws -> (beforeFirstToken: Int, calls: [[Int]]) {
            let backend = ReplayingBackend()
            let engine = try Self.engine(backend, async: async) { $0.enforceEager = true }
            try engine.addRequest("r", prompt: .tokens(prompt), params: SamplingParams(temperature: 0, maxTokens: 4, ignoreEos: true),
                                  outputKind: .delta)
            var firstTokenTime: Double?
            var calls: [[Int]] = [], tokens = 0
            while engine.hasUnfinishedRequests {
                for out in try engine.step() {
                    tokens += out.outputs[0].tokenIds.count
                    firstTokenTime = firstTokenTime ?? out.metrics.firstTokenTime
                }
                calls.append([backend.forwardTimes.count, tokens])
            }
            let processed = try #require(firstTokenTime)
            return (backend.forwardTimes.filter { $0 < processed }.count, calls)
        }
        let sync = try trace(async: false), pipelined = try trace(async: true)
        // Synchronous: the prefill's token is processed before the next forward pass begins.
        #expect(sync.beforeFirstToken == 1)
        #expect(sync.calls == [[1, 1], [2, 2], [3, 3], [4, 4]])
        // Pipelined: it is processed after the second forward pass was enqueued; each call
        // reports the step before the one it launched, and the last call only finishes.
        #expect(pipelined.beforeFirstToken == 2)
        #expect(pipelined.calls == [[1, 0], [2, 1], [3, 2], [4, 3], [4, 4]])
    }
}
