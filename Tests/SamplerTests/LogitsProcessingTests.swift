import Engine
import Testing

/// Each processing step on hand-made logits, with the exact logits it must leave.
struct LogitsProcessingTests {
    let ninf = -Float.infinity

    func process(_ logits: [Float], _ params: SamplingParams, prompt: [Int32] = [], output: [Int32] = [],
                 badWords: [[Int32]] = [], eos: Set<Int32> = []) -> [Float] {
        Sampler.processLogits(logits, params: params, history: SamplingHistory(prompt: prompt, output: output),
                              badWordsTokenIds: badWords, eosTokenIds: eos)
    }

    @Test func defaultsLeaveLogitsAlone() {
        let logits: [Float] = [1, -2, 3.5, 0]
        #expect(process(logits, SamplingParams(), prompt: [0, 1], output: [2, 2]) == logits)
    }

    @Test func allowedTokenIdsMaskEverythingElse() {
        #expect(process([1, 2, 3, 4], SamplingParams(allowedTokenIds: [0, 2])) == [1, ninf, 3, ninf])
    }

    @Test func logitBiasIsAddedAndClamped() {
        #expect(process([0, 0, 0, 1], SamplingParams(logitBias: [1: 2.5, 2: -200, 3: 150])) == [0, 2.5, -100, 101])
    }

    @Test func badWordsBanTheLastTokenWhenThePrefixMatches() {
        let logits: [Float] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]
        var expected = logits
        expected[3] = ninf   // [7, 3]: output ends with 7
        expected[2] = ninf   // [2]: single-token words are always banned
        expected[1] = ninf   // [5, 7, 1]: output ends with 5, 7
        let out = process(logits, SamplingParams(), output: [5, 7],
                          badWords: [[7, 3], [9, 4], [2], [5, 7, 1], [0, 5, 7, 8], [6, 5, 7, 9]])
        #expect(out == expected)
        // No output yet: only one-token words apply.
        let fresh = process(logits, SamplingParams(), badWords: [[7, 3], [2]])
        #expect(fresh == [0, 1, ninf, 3, 4, 5, 6, 7, 8, 9])
    }

    @Test func minTokensBanStopTokensUntilReached() {
        let params = SamplingParams(minTokens: 2, stopTokenIds: [1])
        #expect(process([1, 2, 3, 4], params, output: [0], eos: [3]) == [1, ninf, 3, ninf])
        #expect(process([1, 2, 3, 4], params, output: [0, 0], eos: [3]) == [1, 2, 3, 4])
        // EOS is banned even with ignore_eos, as vLLM (its all_stop_token_ids has EOS regardless).
        var ignoring = params
        ignoring.ignoreEos = true
        #expect(process([1, 2, 3, 4], ignoring, output: [], eos: [3]) == [1, ninf, 3, ninf])
    }

    @Test func repetitionPenaltyDividesPositiveAndMultipliesNegative() {
        let out = process([2, -2, 2, -2, 1], SamplingParams(repetitionPenalty: 2), prompt: [0, 1, 2], output: [2, 3, 3])
        // Once per token, whether it is in the prompt, the output or both.
        #expect(out == [1, -4, 1, -4, 1])
        #expect(process([2, -2], SamplingParams(repetitionPenalty: 0.5), prompt: [0, 1]) == [4, -1])
    }

    @Test func frequencyAndPresencePenaltiesCountOutputOnly() {
        let params = SamplingParams(presencePenalty: 0.25, frequencyPenalty: 0.5)
        let out = process([1, 1, 1, 1], params, prompt: [0, 3, 3], output: [1, 1, 2])
        #expect(out == [1, 1 - 1.0 - 0.25, 1 - 0.5 - 0.25, 1])
        let negative = process([0, 0], SamplingParams(presencePenalty: -1, frequencyPenalty: -0.5), output: [1, 1, 1])
        #expect(negative == [0, 2.5])
    }

    @Test func biasComesBeforeRepetitionPenalty() {
        // vLLM: logit processors (bias) run before penalties: (1 + 1) / 2, not 1 / 2 + 1.
        #expect(process([1], SamplingParams(repetitionPenalty: 2, logitBias: [0: 1]), prompt: [0]) == [1])
    }

    @Test func greedyTakesArgmaxOfProcessedLogits() {
        var rng = SplitMix64(seed: 1)
        let logits: [Float] = [1, 5, 4.9, 0]
        let plain = Sampler.sample(logits: logits, params: .greedy, promptTokenIds: [], outputTokenIds: [], rng: &rng)
        #expect(plain.token == 1)
        // Presence penalty on the output token 1 moves the argmax to 2.
        let penalized = Sampler.sample(logits: logits, params: SamplingParams(temperature: 0, presencePenalty: 0.5),
                                       promptTokenIds: [], outputTokenIds: [1], rng: &rng)
        #expect(penalized.token == 2)
        // Ties go to the lower id (torch.argmax).
        #expect(Sampler.argmax([0, 3, 3, 1]) == 1)
        // A banned maximum is never chosen.
        let banned = Sampler.sample(logits: logits, params: SamplingParams(temperature: 0, logitBias: [1: -100, 2: -100]),
                                    promptTokenIds: [], outputTokenIds: [], rng: &rng)
        #expect(banned.token == 0)
    }

    @Test func historyUpdatesIncrementally() {
        var h = SamplingHistory(prompt: [Int32]([4, 4, 5]))
        h.append(1)
        h.append(1)
        h.append(2)
        #expect(h.promptTokens == [4, 5])
        #expect(h.outputTokens == [1, 1, 2])
        #expect(h.outputCounts == [1: 2, 2: 1])
    }
}
