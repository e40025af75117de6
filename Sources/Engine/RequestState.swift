import Tokenizers

/// A request's completions as they grow.
final class RequestState {
    struct Completion {
        var detokenizer: IncrementalDetokenizer
        var stopChecker: StopChecker
        /// Text released so far (stop strings cut, held-back text not yet included).
        var text = ""
        var tokenIds: [Int] = []
        var cumulativeLogprob: Double = 0
        var logprobs: [[Logprob]] = []
        var finishReason: FinishReason?
        var stopReason: StopReason?
        /// How much text, how many tokens and logprob positions earlier delta outputs carried.
        var sentText = 0
        var sentTokens = 0
    }

    let id: String
    let prompt: String?
    let promptTokenIds: [Int]
    let params: SamplingParams
    let kind: OutputKind
    var seqIds: [Int] = []
    var completions: [Completion]
    var promptLogprobs: [[Logprob]?]?
    private var promptLogprobsSent = false
    var metrics: RequestMetrics
    private let decodeToken: (Int) -> String

    init(id: String, prompt: String?, promptTokenIds: [Int], params: SamplingParams, kind: OutputKind,
         arrivalTime: Double, n: Int, makeDetokenizer: () -> IncrementalDetokenizer, decodeToken: @escaping (Int) -> String) {
        self.id = id
        self.prompt = prompt
        self.promptTokenIds = promptTokenIds
        self.params = params
        self.kind = kind
        self.decodeToken = decodeToken
        completions = (0..<n).map { _ in Completion(detokenizer: makeDetokenizer(), stopChecker: StopChecker(params: params)) }
        metrics = RequestMetrics(arrivalTime: arrivalTime)
    }

    var finished: Bool { completions.allSatisfy { $0.finishReason != nil } }

    /// Adds one step's tokens to completion `index`. Returns true when a stop string ended it (the
    /// caller then stops its sequence).
    func append(index: Int, output out: StepOutput, now: Double) -> Bool {
        if metrics.firstTokenTime == nil {
            metrics.firstTokenTime = now
            metrics.numCachedTokens = out.numCachedTokens
        }
        if let rows = out.promptLogprobs, promptLogprobs == nil { promptLogprobs = rows.map { $0.map(logprobEntries) } }
        var c = completions[index]
        guard c.finishReason == nil else { return false }
        var stoppedByString = false
        for token in out.newTokenIds {
            c.tokenIds.append(token)
            if params.logprobs != nil {
                c.cumulativeLogprob += Double(out.sample.logprob)
                c.logprobs.append(logprobEntries(out.sample))
            }
            let update = c.stopChecker.append(c.detokenizer.append(token), numOutputTokens: c.tokenIds.count)
            c.text += update.delta
            if let stop = update.stopReason {
                c.finishReason = .stop
                c.stopReason = .string(stop)
                stoppedByString = true
                break
            }
        }
        if !stoppedByString, let finishReason = out.finishReason {
            c.text += c.stopChecker.append(c.detokenizer.flush()).delta
            c.text += c.stopChecker.finish()
            c.finishReason = finishReason
            c.stopReason = out.stopTokenId.map { .tokenId($0) }
        }
        completions[index] = c
        if finished { metrics.finishedTime = now }
        return stoppedByString
    }

    /// The sampled token first, then the top alternatives (vLLM's per-position dict, ordered).
    private func logprobEntries(_ sample: SampleResult) -> [Logprob] {
        var entries = [Logprob(tokenId: Int(sample.token), logprob: sample.logprob, rank: sample.rank,
                               decodedToken: decodeToken(Int(sample.token)))]
        for (i, alt) in sample.topLogprobs.enumerated() where alt.id != sample.token {
            entries.append(Logprob(tokenId: Int(alt.id), logprob: alt.logprob, rank: i + 1, decodedToken: decodeToken(Int(alt.id))))
        }
        return entries
    }

    /// The output to report now, per `kind`; nil when nothing is due.
    func makeOutput() -> RequestOutput? {
        if kind == .finalOnly && !finished { return nil }
        let delta = kind == .delta
        let outputs = completions.indices.map { i -> CompletionOutput in
            let c = completions[i]
            let text = delta ? String(decoding: c.text.utf8.dropFirst(c.sentText), as: UTF8.self) : c.text
            let ids = delta ? Array(c.tokenIds.dropFirst(c.sentTokens)) : c.tokenIds
            let logprobs = params.logprobs == nil ? nil : (delta ? Array(c.logprobs.dropFirst(c.sentTokens)) : c.logprobs)
            completions[i].sentText = c.text.utf8.count
            completions[i].sentTokens = c.tokenIds.count
            return CompletionOutput(index: i, text: text, tokenIds: ids,
                                    cumulativeLogprob: params.logprobs == nil ? nil : c.cumulativeLogprob,
                                    logprobs: logprobs, finishReason: c.finishReason, stopReason: c.stopReason)
        }
        // Prompt logprobs go out once: with the first delta, or in every cumulative output.
        let sendPrompt = !delta || !promptLogprobsSent
        if promptLogprobs != nil { promptLogprobsSent = true }
        return RequestOutput(requestId: id, prompt: prompt, promptTokenIds: promptTokenIds,
                             promptLogprobs: sendPrompt ? promptLogprobs : nil,
                             outputs: outputs, finished: finished, metrics: metrics)
    }
}
