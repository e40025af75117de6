extension SamplingParams {
    /// Rejects values vLLM rejects, with vLLM's messages (they name the field), plus the checks
    /// vLLM's request processor makes against the model (token ids inside the vocabulary, the
    /// number of logprobs against `maxLogprobs`, -1 meaning no cap).
    public func validate(vocabSize: Int, maxLogprobs: Int = 20) throws {
        func fail(_ message: String) -> EngineError { .invalidParameter(message) }
        if n < 1 { throw fail("n must be at least 1, got \(n).") }
        if let bestOf, bestOf < n {
            throw fail("best_of must be greater than or equal to n, got n=\(n) and best_of=\(bestOf).")
        }
        if !(-2...2).contains(presencePenalty) {
            throw fail("presence_penalty must be in [-2, 2], got \(presencePenalty).")
        }
        if !(-2...2).contains(frequencyPenalty) {
            throw fail("frequency_penalty must be in [-2, 2], got \(frequencyPenalty).")
        }
        if !repetitionPenalty.isFinite { throw fail("repetition_penalty must be a finite number, got \(repetitionPenalty).") }
        if repetitionPenalty <= 0 { throw fail("repetition_penalty must be greater than zero, got \(repetitionPenalty).") }
        if !temperature.isFinite { throw fail("temperature must be a finite number, got \(temperature).") }
        if temperature < 0 { throw fail("temperature must be non-negative, got \(temperature).") }
        if temperature > 2 { throw fail("temperature must be in [0, 2], got \(temperature).") }
        if !(topP > 0 && topP <= 1) { throw fail("top_p must be in (0, 1], got \(topP).") }
        if topK < -1 { throw fail("top_k must be 0 (disable), or at least 1, got \(topK).") }
        if !(minP >= 0 && minP <= 1) { throw fail("min_p must be in [0, 1], got \(minP).") }
        if maxTokens < 1 { throw fail("max_tokens must be at least 1, got \(maxTokens).") }
        if minTokens < 0 { throw fail("min_tokens must be greater than or equal to 0, got \(minTokens).") }
        if maxTokens != Self.unlimitedTokens, minTokens > maxTokens {
            throw fail("min_tokens must be less than or equal to max_tokens=\(maxTokens), got \(minTokens).")
        }
        for (name, value) in [("logprobs", logprobs), ("prompt_logprobs", promptLogprobs)] {
            guard let value else { continue }
            if value < -1 { throw fail("\(name) must be non-negative or -1, got \(value).") }
            let requested = value == -1 ? vocabSize : value
            if maxLogprobs != -1, requested > maxLogprobs {
                let what = name == "logprobs" ? "sample logprobs" : "prompt logprobs"
                throw fail("Requested \(what) of \(requested), which is greater than max logprobs of \(maxLogprobs).")
            }
        }
        if stop.contains(where: \.isEmpty) { throw fail("stop cannot contain an empty string.") }
        if badWords.contains(where: { $0.allSatisfy(\.isWhitespace) }) {
            throw fail("bad_words cannot contain an empty string. Got bad_words=\(badWords)")
        }
        if isGreedy, n > 1 { throw fail("n must be 1 when using greedy sampling, got \(n).") }
        for id in logitBias.keys.sorted() where id < 0 || id >= vocabSize {
            throw fail("logit_bias token id \(id) is out of vocabulary (vocab size \(vocabSize)).")
        }
        if let allowed = allowedTokenIds {
            if allowed.isEmpty { throw fail("allowed_token_ids must not be empty.") }
            if let id = allowed.first(where: { $0 < 0 || $0 >= vocabSize }) {
                throw fail("allowed_token_ids contains out-of-vocab token id \(id) (vocab size \(vocabSize)).")
            }
        }
        if let id = stopTokenIds.first(where: { $0 < 0 || $0 >= vocabSize }) {
            throw fail("stop_token_ids contains out-of-vocab token id \(id) (vocab size \(vocabSize)).")
        }
    }
}
