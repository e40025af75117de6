import CPUBackend
import Engine
import Foundation
import OspreyTestSupport
import Testing

/// Requests aborted while their sequences are in the step in flight (async output processing on
/// the CPU): they report nothing more, their blocks come back exactly once, and the sequences that
/// take those blocks (or the prefix cache entries behind them) compute the right tokens.
struct InFlightAbortTests {
    static let name = AsyncOutputProcessingTests.name

    static func greedy(_ maxTokens: Int) -> SamplingParams { SamplingParams(temperature: 0, maxTokens: maxTokens, ignoreEos: true) }

    @Test func abortedInFlightReportsNothingAndEveryBlockComesBack() throws {
        let prompts = try Fixtures.reference(Self.name).prompts
        // 16 blocks of 16 tokens: the later requests must reuse the aborted ones' blocks.
        let engine = try AsyncOutputProcessingTests.engine(CPUBackend(), async: true) {
            $0.numBlocks = 16
            $0.maxNumBatchedTokens = 16
        }
        var tokens: [String: [Int]] = [:]
        func step() throws {
            for out in try engine.step() { tokens[out.requestId, default: []] += out.outputs[0].tokenIds }
        }

        // Aborted while its first prefill chunk (a step without logits) is in flight.
        try engine.addRequest("a", prompt: .tokens(prompts[2].ids), params: Self.greedy(8), outputKind: .delta)
        try step()
        #expect(engine.core.stepInFlight && engine.stats.kvCacheUsage > 0)
        engine.abortRequest("a")
        #expect(engine.stats.kvCacheUsage == 0)
        #expect(engine.hasUnfinishedRequests, "the step in flight must still be finished")
        try step()
        #expect(!engine.hasUnfinishedRequests && !engine.core.stepInFlight)
        #expect(engine.stats.kvCacheUsage == 0 && engine.stats.promptTokens == 0)

        // The same prompt again (nothing of the dropped chunk may be served from the prefix cache),
        // beside "b", aborted while one of its decode steps is in flight.
        try engine.addRequest("a2", prompt: .tokens(prompts[2].ids), params: Self.greedy(8), outputKind: .delta)
        try engine.addRequest("b", prompt: .tokens(prompts[1].ids), params: Self.greedy(32), outputKind: .delta)
        while (tokens["b"] ?? []).count < 3 { try step() }
        #expect(engine.core.stepInFlight)
        engine.abortRequest("b")
        let reportedB = tokens["b"]!
        // "c" reuses b's cached prompt blocks and, once freed, the blocks b's last step wrote.
        try engine.addRequest("c", prompt: .tokens(prompts[1].ids), params: Self.greedy(32), outputKind: .delta)
        while engine.hasUnfinishedRequests { try step() }

        #expect(tokens["a"] == nil)
        #expect(tokens["b"] == reportedB)
        #expect(reportedB == Array(prompts[1].greedy.prefix(reportedB.count)))
        #expect(tokens["a2"] == Array(prompts[2].greedy.prefix(8)))
        #expect(tokens["c"] == prompts[1].greedy)
        #expect(engine.stats.prefixCacheHits > 0)
        // Every block is free, none twice (the free queue refuses a second free; a count above
        // the pool would show as negative usage).
        #expect(engine.stats.kvCacheUsage == 0)
        #expect(engine.stats.generationTokens == reportedB.count + 8 + 32)
    }

    @Test func asyncLLMStreamsAbortsAndDrainsWithAStepInFlight() async throws {
        let prompts = try Fixtures.reference(Self.name).prompts
        // The client "goes away" as the fifth forward pass begins, from the engine thread itself,
        // so the abort lands while step 5 is in flight however slowly the client's task runs.
        let backend = ReplayingBackend()
        let box = LLMBox()
        backend.beforeForward = { n in if n == 5 { box.llm?.abort("cut") } }
        let loaded = try LoadedModel.load(path: Fixtures.directory.appendingPathComponent(Self.name).path, backend: backend,
                                          maxModelLen: 512)
        var config = EngineConfig()
        config.numBlocks = 128
        config.enforceEager = true
        config.asyncOutputProcessing = true
        let llm = try AsyncLLM(loaded: loaded, config: config)
        box.llm = llm

        // "cut" first: whether "full" joins it or comes a step later, cut's prefill is step 1.
        let cut = llm.generate(.tokens(prompts[1].ids), params: Self.greedy(32), requestId: "cut", kind: .delta)
        let full = llm.generate(.tokens(prompts[0].ids), params: Self.greedy(32), requestId: "full", kind: .delta)
        async let fullTokens = full.reduce(into: [Int]()) { $0 += $1.outputs[0].tokenIds }
        var cutTokens = 0, cutFinished = false
        for try await out in cut {
            cutTokens += out.outputs[0].tokenIds.count
            cutFinished = cutFinished || out.finished
        }
        // Step 4's token is streamed while step 5 runs; step 5 drops the aborted request's token.
        #expect(cutTokens == 4 && !cutFinished, "\(cutTokens) tokens")
        #expect(try await fullTokens == prompts[0].greedy)

        // Shutdown lets a running request finish (and the step in flight with it).
        var last = llm.generate(.tokens(prompts[2].ids), params: Self.greedy(12), requestId: "last", kind: .delta).makeAsyncIterator()
        var lastTokens = try #require(try await last.next()).outputs[0].tokenIds
        async let stopped: Void = llm.shutdown()
        while let out = try await last.next() { lastTokens += out.outputs[0].tokenIds }
        await stopped
        #expect(lastTokens == Array(prompts[2].greedy.prefix(12)))
        #expect(llm.stats?.kvCacheUsage == 0)
    }
}

/// Lets a backend hook reach the engine made after it.
private final class LLMBox: @unchecked Sendable {
    var llm: AsyncLLM?
}
