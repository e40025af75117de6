import CPUBackend
import Engine
import Models
import OspreyTestSupport
import Testing

/// Greedy generation through the engine: equal to transformers' greedy continuations, and
/// independent of how requests were batched, chunked, cached or preempted.
struct GenerationTests {
    static let greedy = SamplingParams(temperature: 0, maxTokens: 32, ignoreEos: true)

    func engine(_ name: String, _ configure: (inout EngineConfig) -> Void = { _ in }) throws -> EngineCore {
        var config = EngineConfig()
        config.maxModelLen = 512
        config.kvCacheBytes = 64 << 20
        configure(&config)
        return try EngineCore(model: Fixtures.loadModel(name, backend: CPUBackend()), config: config)
    }

    @Test(arguments: Fixtures.modelNames)
    func greedyContinuationsMatchTransformers(_ name: String) throws {
        let reference = try Fixtures.reference(name)
        let engine = try engine(name)
        for prompt in reference.prompts {
            let out = try engine.generate([prompt.ids], params: Self.greedy)
            #expect(out[0] == prompt.greedy, "\(name): prompt of \(prompt.ids.count) tokens")
        }
    }

    @Test(arguments: Fixtures.modelNames.prefix(3))
    func batchingChunkingAndPreemptionDoNotChangeOutputs(_ name: String) throws {
        let prompts = try Fixtures.reference(name).prompts
        let expected = prompts.map(\.greedy)
        let ids = prompts.map(\.ids)

        // All prompts in one batch.
        #expect(try engine(name).generate(ids, params: Self.greedy) == expected)
        // Prefill chunks of 7 tokens, mixed with other requests' decodes.
        #expect(try engine(name) { $0.maxNumBatchedTokens = 7 }.generate(ids, params: Self.greedy) == expected)
        // Too few blocks for all at once: later requests are preempted and recomputed.
        let longest = ids.map(\.count).max()! + 32
        let small = try engine(name) { $0.numBlocks = (longest + 15) / 16 + 2; $0.maxModelLen = longest + 1; $0.maxNumBatchedTokens = 512 }
        #expect(try small.generate(ids, params: Self.greedy) == expected)
        #expect(small.stats.numPreemptions > 0)
    }

    @Test func prefixCacheHitsGiveTheSameTokens() throws {
        let name = Fixtures.modelNames[0]
        let prompt = try Fixtures.reference(name).prompts.max { $0.ids.count < $1.ids.count }!
        let engine = try engine(name)
        let first = try engine.generate([prompt.ids], params: Self.greedy)
        let second = try engine.generate([prompt.ids], params: Self.greedy)
        #expect(first[0] == prompt.greedy)
        #expect(second[0] == prompt.greedy)
        // The second request found all its full blocks but the one holding the last prompt token.
        #expect(engine.stats.prefixCacheHits == (prompt.ids.count - 1) / 16 * 16)
    }

    @Test func promptLongerThanContextIsRefused() throws {
        let engine = try engine(Fixtures.modelNames[0]) { $0.maxModelLen = 64 }
        #expect(throws: EngineError.promptTooLong(tokens: 64, maxModelLen: 64)) {
            try engine.add(promptTokenIds: Array(repeating: 1, count: 64), params: Self.greedy)
        }
        #expect(!engine.hasUnfinishedRequests)
    }
}
