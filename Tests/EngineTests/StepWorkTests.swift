import CPUBackend
import Engine
import Foundation
import OspreyTestSupport
import Testing

/// The per-step work a benchmark sets against its floor: every prompt token is counted once as
/// prefill with its causal context, every later token as one decoding row reading its context,
/// however the prompts are chunked.
struct StepWorkTests {
    @Test func countsEveryTokenOnceWithItsContext() throws {
        let loaded = try LoadedModel.load(path: Fixtures.directory.appendingPathComponent("llama-gqa").path,
                                          backend: CPUBackend(), maxModelLen: 128)
        var config = EngineConfig()
        config.numBlocks = 32
        config.maxNumBatchedTokens = 4  // the 6-token prompt is prefilled in two chunks beside decodes
        let engine = try LLMEngine(loaded: loaded, config: config)
        engine.core.recordStepWork()
        let params = SamplingParams(temperature: 0, maxTokens: 3, ignoreEos: true)
        try engine.addRequest("a", prompt: .tokens([5, 6, 7, 8, 9, 10]), params: params, outputKind: .finalOnly)
        try engine.addRequest("b", prompt: .tokens([11, 12, 13]), params: params, outputKind: .finalOnly)
        while engine.hasUnfinishedRequests { _ = try engine.step() }

        let work = try #require(engine.core.timings.work)
        #expect(work.count == engine.core.timings.steps)
        let withinBudget = work.allSatisfy { $0.decodeRows + $0.prefillTokens <= 4 && $0.seconds >= 0 }
        #expect(withinBudget)
        func total(_ field: KeyPath<StepWork, Int>) -> Int { work.reduce(0) { $0 + $1[keyPath: field] } }
        #expect(total(\.prefillTokens) == 9)
        // Prompt positions 1...6 and 1...3 as causal contexts.
        #expect(total(\.prefillKeys) == 21 + 6)
        // The 2nd and 3rd output tokens of each: a at contexts 7 and 8, b at 4 and 5.
        #expect(total(\.decodeRows) == 4)
        #expect(total(\.decodeKeys) == 7 + 8 + 4 + 5)
        let mixed = work.contains { $0.prefillTokens > 0 && $0.decodeRows > 0 }
        #expect(mixed)
    }

    @Test func recordsNothingUnlessAsked() throws {
        let loaded = try LoadedModel.load(path: Fixtures.directory.appendingPathComponent("llama-gqa").path,
                                          backend: CPUBackend(), maxModelLen: 128)
        var config = EngineConfig()
        config.numBlocks = 32
        let engine = try LLMEngine(loaded: loaded, config: config)
        try engine.addRequest("a", prompt: .tokens([5, 6, 7]), params: SamplingParams(temperature: 0, maxTokens: 2),
                              outputKind: .finalOnly)
        while engine.hasUnfinishedRequests { _ = try engine.step() }
        #expect(engine.core.timings.work == nil)
    }
}
