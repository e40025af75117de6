import Engine
import Testing

/// Defaults, explicit fields, generation defaults and validation, against vLLM's SamplingParams.
struct SamplingParamsTests {
    @Test func vllmDefaults() {
        let p = SamplingParams()
        #expect(p.n == 1 && p.bestOf == nil)
        #expect(p.temperature == 1 && p.topP == 1 && p.topK == 0 && p.minP == 0)
        #expect(p.presencePenalty == 0 && p.frequencyPenalty == 0 && p.repetitionPenalty == 1)
        #expect(p.seed == nil && p.stop.isEmpty && p.stopTokenIds.isEmpty)
        #expect(!p.includeStopStrInOutput && !p.ignoreEos)
        #expect(p.maxTokens == 16 && p.minTokens == 0)
        #expect(p.logprobs == nil && p.promptLogprobs == nil)
        #expect(p.logitBias.isEmpty && p.allowedTokenIds == nil && p.badWords.isEmpty)
        #expect(p.skipSpecialTokens && p.spacesBetweenSpecialTokens)
        #expect(p.explicitFields.isEmpty)
        #expect(!p.isGreedy && p.effectiveTopK == nil)
        #expect(SamplingParams(topK: -1).effectiveTopK == nil)
        #expect(SamplingParams(topK: 5).effectiveTopK == 5)
    }

    @Test func temperatureClampAndGreedy() {
        #expect(SamplingParams(temperature: 0).isGreedy)
        #expect(SamplingParams(temperature: 0).effectiveTemperature == 0)
        #expect(SamplingParams(temperature: 0.001).effectiveTemperature == 0.01)
        #expect(SamplingParams(temperature: 0.7).effectiveTemperature == 0.7)
        #expect(SamplingParams.greedy.isGreedy)
    }

    @Test func explicitFieldsAreRemembered() {
        var p = SamplingParams(temperature: 1, maxTokens: 100)
        #expect(p.explicitFields == [.temperature, .maxTokens])
        p.topP = 0.5
        #expect(p.explicitFields == [.temperature, .maxTokens, .topP])
    }

    @Test func generationDefaultsFillOnlySilentFields() {
        let gen = GenerationDefaults(temperature: 0.6, topP: 0.95, topK: 20, minP: 0, repetitionPenalty: 1.05, maxTokens: nil)
        var silent = SamplingParams()
        silent.applyDefaults(from: gen)
        #expect(silent.temperature == 0.6 && silent.topP == 0.95 && silent.topK == 20)
        #expect(silent.minP == 0 && silent.repetitionPenalty == 1.05 && silent.maxTokens == 16)

        var explicit = SamplingParams(temperature: 1, topK: 0)
        explicit.applyDefaults(from: gen)
        #expect(explicit.temperature == 1 && explicit.topK == 0 && explicit.topP == 0.95)
    }

    @Test func maxNewTokensCapsMaxTokens() {
        let gen = GenerationDefaults(maxTokens: 4096)
        var silent = SamplingParams()
        silent.applyDefaults(from: gen)
        #expect(silent.maxTokens == 4096)
        var big = SamplingParams(maxTokens: 8000)
        big.applyDefaults(from: gen)
        #expect(big.maxTokens == 4096)
        var small = SamplingParams(maxTokens: 10)
        small.applyDefaults(from: gen)
        #expect(small.maxTokens == 10)
        var unlimited = SamplingParams(maxTokens: SamplingParams.unlimitedTokens)
        #expect(min(unlimited.maxTokens, 300) == 300)
        unlimited.applyDefaults(from: gen)
        #expect(unlimited.maxTokens == 4096)
    }

    func message(_ p: SamplingParams, vocabSize: Int = 100) -> String? {
        do {
            try p.validate(vocabSize: vocabSize)
            return nil
        } catch {
            return (error as? EngineError)?.description ?? "\(error)"
        }
    }

    @Test func validParamsPass() {
        #expect(message(SamplingParams()) == nil)
        #expect(message(SamplingParams(temperature: 0)) == nil)
        #expect(message(SamplingParams(n: 4, bestOf: 4, temperature: 0.7, topP: 0.9, topK: -1, minP: 0.05, maxTokens: 10, minTokens: 10,
                                       stop: ["\n"], logprobs: 20, promptLogprobs: 0,
                                       logitBias: [99: 5], allowedTokenIds: [0, 99])) == nil)
        #expect(message(SamplingParams(maxTokens: SamplingParams.unlimitedTokens, minTokens: 1000)) == nil)
        #expect(message(SamplingParams(logprobs: -1), vocabSize: 10) == nil)
    }

    @Test func validationMessagesNameTheField() {
        #expect(message(SamplingParams(temperature: -1)) == "temperature must be non-negative, got -1.0.")
        #expect(message(SamplingParams(temperature: 2.5)) == "temperature must be in [0, 2], got 2.5.")
        #expect(message(SamplingParams(temperature: .nan)) == "temperature must be a finite number, got nan.")
        #expect(message(SamplingParams(topP: 0)) == "top_p must be in (0, 1], got 0.0.")
        #expect(message(SamplingParams(topP: 1.5)) == "top_p must be in (0, 1], got 1.5.")
        #expect(message(SamplingParams(topK: -2)) == "top_k must be 0 (disable), or at least 1, got -2.")
        #expect(message(SamplingParams(minP: 1.1)) == "min_p must be in [0, 1], got 1.1.")
        #expect(message(SamplingParams(maxTokens: 0)) == "max_tokens must be at least 1, got 0.")
        #expect(message(SamplingParams(minTokens: -1)) == "min_tokens must be greater than or equal to 0, got -1.")
        #expect(message(SamplingParams(maxTokens: 5, minTokens: 6)) == "min_tokens must be less than or equal to max_tokens=5, got 6.")
        #expect(message(SamplingParams(n: 0)) == "n must be at least 1, got 0.")
        #expect(message(SamplingParams(n: 3, bestOf: 2)) == "best_of must be greater than or equal to n, got n=3 and best_of=2.")
        #expect(message(SamplingParams(n: 2, temperature: 0)) == "n must be 1 when using greedy sampling, got 2.")
        #expect(message(SamplingParams(presencePenalty: 2.5)) == "presence_penalty must be in [-2, 2], got 2.5.")
        #expect(message(SamplingParams(frequencyPenalty: -3)) == "frequency_penalty must be in [-2, 2], got -3.0.")
        #expect(message(SamplingParams(repetitionPenalty: 0)) == "repetition_penalty must be greater than zero, got 0.0.")
        #expect(message(SamplingParams(logprobs: -2)) == "logprobs must be non-negative or -1, got -2.")
        #expect(message(SamplingParams(promptLogprobs: -5)) == "prompt_logprobs must be non-negative or -1, got -5.")
        #expect(message(SamplingParams(logprobs: 30)) == "Requested sample logprobs of 30, which is greater than max logprobs of 20.")
        #expect(message(SamplingParams(stop: ["a", ""])) == "stop cannot contain an empty string.")
        #expect(message(SamplingParams(badWords: [""])) == "bad_words cannot contain an empty string. Got bad_words=[\"\"]")
        #expect(message(SamplingParams(logitBias: [999999: 1]), vocabSize: 151936)
                == "logit_bias token id 999999 is out of vocabulary (vocab size 151936).")
        #expect(message(SamplingParams(allowedTokenIds: [])) == "allowed_token_ids must not be empty.")
        #expect(message(SamplingParams(allowedTokenIds: [1, 100])) == "allowed_token_ids contains out-of-vocab token id 100 (vocab size 100).")
        #expect(message(SamplingParams(stopTokenIds: [-1])) == "stop_token_ids contains out-of-vocab token id -1 (vocab size 100).")
    }

    @Test func validationThrowsInvalidParameter() {
        #expect(throws: EngineError.invalidParameter("top_p must be in (0, 1], got 0.0.")) {
            try SamplingParams(topP: 0).validate(vocabSize: 10)
        }
    }

    @Test func badWordsTokenizedWithAndWithoutLeadingSpace() {
        let vocab: [String: [Int]] = ["hello": [1, 2], " hello": [3, 2], "hi": [4], " hi": [4], "a b": [5, 6, 7], " a b": [8, 6]]
        let p = SamplingParams(badWords: ["hello", "  hi", "a b"])
        let ids = p.badWordsTokenIds { vocab[$0] ?? [] }
        // " hi" starts with the same token as "hi"; " a b" has a different length: both skipped.
        #expect(ids == [[1, 2], [3, 2], [4], [5, 6, 7]])
    }
}
