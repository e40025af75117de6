import Foundation
import Tensors

extension Sampler {
    /// One request's row for `Backend.sample`, with the logit edits that turn its raw logits into
    /// `processLogits`'s: allowed ids, bad words, min-tokens bans, logit bias, repetition,
    /// frequency and presence penalties, merged into one edit per token. nil when the row needs
    /// the host sampler (more top logprobs than a backend returns). Draws the request's uniform
    /// only when the row is not greedy, exactly as `sample` does, so seeded requests see the same
    /// random stream on either path.
    public static func deviceRow(_ row: Int32, sample: Int32, params: SamplingParams, history: SamplingHistory,
                          badWordsTokenIds: [[Int32]], eosTokenIds: Set<Int32>, vocab: Int,
                          pendingTokens: Int = 0, rng: inout SplitMix64, edits: inout [LogitEdit]) -> RowSampling? {
        if let k = params.logprobs, k < 0 || k > RowSampling.maxTopLogprobs { return nil }
        var byToken: [Int32: LogitEdit] = [:]
        func edit(_ id: Int32, _ change: (inout LogitEdit) -> Void) {
            guard id >= 0, Int(id) < vocab else { return }
            var e = byToken[id] ?? LogitEdit(sample: sample, token: id)
            change(&e)
            byToken[id] = e
        }
        if let allowed = params.allowedTokenIds {
            for id in allowed where id >= 0 && id < vocab { edit(Int32(id)) { $0.allowed = true } }
        }
        let output = history.outputTokens
        for word in badWordsTokenIds where !word.isEmpty && word.count <= output.count + 1 {
            if output.suffix(word.count - 1).elementsEqual(word.dropLast()) { edit(word.last!) { $0.banned = true } }
        }
        // min_tokens counts the output drawn so far, also tokens drawn but not yet back (async scheduling).
        if output.count + pendingTokens < params.minTokens {
            for id in eosTokenIds { edit(id) { $0.banned = true } }
            for id in params.stopTokenIds where id >= 0 && id < vocab { edit(Int32(id)) { $0.banned = true } }
        }
        for (id, bias) in params.logitBias where id >= 0 && id < vocab {
            edit(Int32(id)) { $0.bias = Float(min(100, max(-100, bias))) }
        }
        if params.repetitionPenalty != 1 {
            let p = Float(params.repetitionPenalty)
            for id in history.promptTokens { edit(id) { $0.repetition = p } }
            for id in history.outputCounts.keys { edit(id) { $0.repetition = p } }
        }
        if params.frequencyPenalty != 0 || params.presencePenalty != 0 {
            let f = Float(params.frequencyPenalty), pr = Float(params.presencePenalty)
            for (id, count) in history.outputCounts { edit(id) { $0.subtract = f * Float(count) + pr } }
        }
        edits += byToken.values.sorted { $0.token < $1.token }

        let greedy = params.isGreedy
        var spec = RowSampling(row: row, invTemperature: greedy ? 0 : Float(1 / max(params.effectiveTemperature, 1e-2)))
        if let k = params.effectiveTopK, k < vocab { spec.topK = Int32(k) }
        spec.topP = params.topP
        if params.minP > 0 { spec.logMinP = Float(log(params.minP)) }
        if !greedy { spec.uniform = rng.nextUnit() }
        spec.restricted = params.allowedTokenIds != nil
        spec.logprobs = Int32(params.logprobs ?? -1)
        return spec
    }

    /// A backend's draw as the engine reports it.
    static func result(_ s: SampledToken, params: SamplingParams) -> SampleResult {
        guard params.logprobs != nil else { return SampleResult(token: s.token) }
        return SampleResult(token: s.token, logprob: s.logprob, rank: s.rank,
                            topLogprobs: s.top.map { TokenLogprob(id: $0.id, logprob: $0.logprob) })
    }
}

extension Sampler {
    /// Draws from host logits rows with `backend`'s sampler, as the engine does on the GPU (for
    /// checking a backend against `sample`); nil for rows the device leaves to the host.
    public static func sampleOnBackend(_ backend: any Backend, logits: [[Float]], params: [SamplingParams],
                                       histories: [SamplingHistory], badWordsTokenIds: [[[Int32]]],
                                       eosTokenIds: Set<Int32>, rngs: inout [SplitMix64]) throws -> [SampleResult?] {
        let vocab = logits.first?.count ?? 0
        var rows: [RowSampling] = [], edits: [LogitEdit] = [], owners: [Int] = []
        for i in logits.indices {
            if let row = deviceRow(Int32(i), sample: Int32(rows.count), params: params[i], history: histories[i],
                                   badWordsTokenIds: badWordsTokenIds[i], eosTokenIds: eosTokenIds, vocab: vocab,
                                   rng: &rngs[i], edits: &edits) {
                rows.append(row)
                owners.append(i)
            }
        }
        var results = [SampleResult?](repeating: nil, count: logits.count)
        let tensor = try backend.upload(.f32(logits.flatMap { $0 }, shape: [logits.count, vocab]))
        for (j, s) in try backend.sample(tensor, rows: rows, edits: edits).enumerated() {
            results[owners[j]] = result(s, params: params[owners[j]])
        }
        return results
    }
}
