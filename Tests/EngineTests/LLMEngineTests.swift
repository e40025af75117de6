import CPUBackend
import Engine
import Foundation
import OspreyTestSupport
import Testing

/// The text-level engine on a fixture model (its own tokenizer.json): prompt logprobs against the
/// transformers reference, stop strings and stop tokens, n > 1, prefix caching on and off.
struct LLMEngineTests {
    static let name = "llama-gqa"

    func engine(_ configure: (inout EngineConfig) -> Void = { _ in }) throws -> LLMEngine {
        let loaded = try LoadedModel.load(path: Fixtures.directory.appendingPathComponent(Self.name).path,
                                          backend: CPUBackend(), maxModelLen: 512)
        var config = EngineConfig()
        configure(&config)
        return try LLMEngine(loaded: loaded, config: config)
    }

    func run(_ engine: LLMEngine, _ prompt: [Int], _ params: SamplingParams) throws -> RequestOutput {
        try engine.addRequest(UUID().uuidString, prompt: .tokens(prompt), params: params, outputKind: .finalOnly)
        var last: RequestOutput?
        while engine.hasUnfinishedRequests {
            for out in try engine.step() where out.finished { last = out }
        }
        return try #require(last)
    }

    static let greedy = SamplingParams(temperature: 0, maxTokens: 32, ignoreEos: true)

    @Test func promptLogprobsEqualTheReference() throws {
        let prompt = try Fixtures.reference(Self.name).prompts[1]
        var params = Self.greedy
        params.promptLogprobs = 3
        params.maxTokens = 1
        // Chunks of 7 tokens: prompt logprob rows are collected across chunks.
        let out = try run(engine { $0.maxNumBatchedTokens = 7 }, prompt.ids, params)
        let rows = try #require(out.promptLogprobs)
        #expect(rows.count == prompt.ids.count)
        #expect(rows[0] == nil)
        for p in 1..<prompt.ids.count {
            let entries = try #require(rows[p])
            // The actual prompt token first, then the top 3.
            #expect(entries[0].tokenId == prompt.ids[p])
            for e in entries {
                #expect(abs(e.logprob - prompt.logprobs[p - 1][e.tokenId]) < 2e-4)
            }
        }
    }

    @Test func prefixCachingAndChunkSizesDoNotChangeOutputs() throws {
        let prompt = try Fixtures.reference(Self.name).prompts[2]
        for chunk in [1, 5, 16, 33] {
            for caching in [true, false] {
                let engine = try engine { $0.maxNumBatchedTokens = chunk; $0.enablePrefixCaching = caching }
                #expect(try run(engine, prompt.ids, Self.greedy).outputs[0].tokenIds == prompt.greedy, "chunk \(chunk) caching \(caching)")
            }
        }
    }

    @Test func stopStringsAndStopTokens() throws {
        let prompt = try Fixtures.reference(Self.name).prompts[0]
        let engine = try engine()
        let full = try run(engine, prompt.ids, Self.greedy).outputs[0].text
        let chars = Array(full)
        #expect(chars.count > 12)
        let stop = String(chars[6..<9])
        let before = String(full[..<full.range(of: stop)!.lowerBound])

        var params = Self.greedy
        params.stop = [stop]
        let cut = try run(engine, prompt.ids, params).outputs[0]
        #expect(cut.text == before)
        #expect(cut.finishReason == .stop)
        #expect(cut.stopReason == .string(stop))

        params.includeStopStrInOutput = true
        #expect(try run(engine, prompt.ids, params).outputs[0].text == before + stop)

        var byToken = Self.greedy
        byToken.stopTokenIds = [prompt.greedy[4]]
        let stopped = try run(engine, prompt.ids, byToken).outputs[0]
        let firstIndex = prompt.greedy.firstIndex(of: prompt.greedy[4])!
        #expect(stopped.tokenIds == Array(prompt.greedy[...firstIndex]))
        #expect(stopped.stopReason == .tokenId(prompt.greedy[4]))
    }

    @Test func seededSamplingWithNIsReproducibleAndTopK1IsGreedy() throws {
        let prompt = try Fixtures.reference(Self.name).prompts[1]
        let engine = try engine()
        let params = SamplingParams(n: 3, temperature: 1, seed: 7, maxTokens: 16, ignoreEos: true)
        let a = try run(engine, prompt.ids, params).outputs.map(\.tokenIds)
        let b = try run(engine, prompt.ids, params).outputs.map(\.tokenIds)
        #expect(a.count == 3)
        #expect(a == b)
        #expect(Set(a).count > 1)
        let topK1 = SamplingParams(temperature: 1, topK: 1, seed: 3, maxTokens: 32, ignoreEos: true)
        #expect(try run(engine, prompt.ids, topK1).outputs[0].tokenIds == prompt.greedy)
    }

    @Test func logitBiasForcesAToken() throws {
        let prompt = try Fixtures.reference(Self.name).prompts[0]
        var params = Self.greedy
        params.maxTokens = 5
        params.logitBias = [42: 100]
        #expect(try run(engine(), prompt.ids, params).outputs[0].tokenIds == [42, 42, 42, 42, 42])
    }

    @Test func invalidParametersAreRefusedAndChangeNothing() throws {
        let engine = try engine()
        #expect(throws: EngineError.self) {
            try engine.addRequest("x", prompt: .tokens([1, 2, 3]), params: SamplingParams(temperature: -1))
        }
        #expect(throws: EngineError.self) {
            try engine.addRequest("y", prompt: .tokens([1, 2, 100_000]), params: Self.greedy)
        }
        #expect(!engine.hasUnfinishedRequests)
        #expect(engine.stats.kvCacheUsage == 0)
    }
}
