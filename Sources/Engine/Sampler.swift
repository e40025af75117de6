import Foundation

/// A small, fast, seedable generator (SplitMix64), one per request so that a seeded request
/// samples the same tokens whatever else is in the batch.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// Uniform in [0, 1) with 53 random bits.
    public mutating func nextUnit() -> Double { Double(next() >> 11) * 0x1p-53 }
}

/// A token id with its log probability.
public struct TokenLogprob: Sendable, Equatable {
    public var id: Int32
    public var logprob: Float
    public init(id: Int32, logprob: Float) {
        self.id = id
        self.logprob = logprob
    }
}

/// One drawn token (or, for prompt logprobs, one prompt token) and its log probabilities.
/// `logprob` and `rank` are NaN and 0 when logprobs were not requested (they cost a pass over the
/// vocabulary). `rank` is 1-based: how many tokens have a logprob at least the token's (vLLM).
/// `topLogprobs` holds the requested number of most likely tokens, most likely first.
public struct SampleResult: Sendable, Equatable {
    public var token: Int32
    public var logprob: Float
    public var rank: Int
    public var topLogprobs: [TokenLogprob]
    public init(token: Int32, logprob: Float = .nan, rank: Int = 0, topLogprobs: [TokenLogprob] = []) {
        self.token = token
        self.logprob = logprob
        self.rank = rank
        self.topLogprobs = topLogprobs
    }
}

/// The tokens a request has seen, in the form the penalties need. Kept per request and updated
/// with `append`, so a step costs O(new tokens), not O(prompt).
public struct SamplingHistory: Sendable {
    /// Distinct prompt tokens (repetition penalty).
    public private(set) var promptTokens: Set<Int32>
    public private(set) var outputTokens: [Int32]
    /// Occurrences in the output (frequency and presence penalties).
    public private(set) var outputCounts: [Int32: Int]

    public init<P: Collection<Int32>, O: Collection<Int32>>(prompt: P, output: O) {
        promptTokens = Set(prompt)
        outputTokens = []
        outputCounts = [:]
        for t in output { append(t) }
    }
    public init<P: Collection<Int32>>(prompt: P) { self.init(prompt: prompt, output: [Int32]()) }

    public mutating func append(_ token: Int32) {
        outputTokens.append(token)
        outputCounts[token, default: 0] += 1
    }
}

/// Picks the next token from one row of logits, as vLLM v1's sampler does, in its order:
///
/// 1. `allowedTokenIds` mask, 2. `badWords`, 3. `minTokens` (EOS and stop token ids banned while
/// the output is shorter), 4. `logitBias`, 5. repetition penalty (prompt + output tokens: positive
/// logits divided, negative multiplied), 6. frequency and presence penalties (output tokens), then
/// 7. greedy argmax at temperature 0, otherwise temperature (raised to at least 0.01 as vLLM does),
/// min-p, top-k, top-p (vLLM applies min-p before top-k/top-p), and a draw from what is left.
///
/// Logprobs follow vLLM's default `logprobs_mode = "raw_logprobs"`: the log-softmax of the model's
/// raw logits, before any of the steps above (so a banned token still has its logprob).
public enum Sampler {
    /// Samples one token. `eosTokenIds` are needed for `minTokens`; `badWordsTokenIds` come from
    /// `SamplingParams.badWordsTokenIds(encode:)`.
    public static func sample(logits: [Float], params: SamplingParams, history: SamplingHistory,
                              badWordsTokenIds: [[Int32]] = [], eosTokenIds: Set<Int32> = [],
                              rng: inout SplitMix64) -> SampleResult {
        let processed = processLogits(logits, params: params, history: history,
                                      badWordsTokenIds: badWordsTokenIds, eosTokenIds: eosTokenIds)
        let token: Int32
        if params.isGreedy {
            token = argmax(processed)
        } else {
            token = draw(processed, params: params, rng: &rng)
        }
        guard let k = params.logprobs else { return SampleResult(token: token) }
        return logprobs(row: logits, token: token, top: k == -1 ? logits.count : k)
    }

    /// Convenience for callers without a kept history (builds one: O(prompt + output)).
    public static func sample(logits: [Float], params: SamplingParams, promptTokenIds: [Int32],
                              outputTokenIds: [Int32], badWordsTokenIds: [[Int32]] = [],
                              eosTokenIds: Set<Int32> = [], rng: inout SplitMix64) -> SampleResult {
        sample(logits: logits, params: params, history: SamplingHistory(prompt: promptTokenIds, output: outputTokenIds),
               badWordsTokenIds: badWordsTokenIds, eosTokenIds: eosTokenIds, rng: &rng)
    }

    /// Steps 1–6: the logits greedy decoding takes the argmax of (banned tokens are -inf).
    public static func processLogits(_ logits: [Float], params: SamplingParams, history: SamplingHistory,
                                     badWordsTokenIds: [[Int32]] = [], eosTokenIds: Set<Int32> = []) -> [Float] {
        var l: [Float]
        if let allowed = params.allowedTokenIds {
            l = [Float](repeating: -.infinity, count: logits.count)
            for id in allowed where id >= 0 && id < logits.count { l[id] = logits[id] }
        } else {
            l = logits
        }
        let output = history.outputTokens
        for word in badWordsTokenIds where !word.isEmpty && word.count <= output.count + 1 {
            let prefix = word.dropLast()
            if output.suffix(prefix.count).elementsEqual(prefix), let last = word.last, Int(last) < l.count, last >= 0 {
                l[Int(last)] = -.infinity
            }
        }
        if output.count < params.minTokens {
            for id in eosTokenIds where id >= 0 && Int(id) < l.count { l[Int(id)] = -.infinity }
            for id in params.stopTokenIds where id >= 0 && id < l.count { l[id] = -.infinity }
        }
        for (id, bias) in params.logitBias where id >= 0 && id < l.count {
            l[id] += Float(min(100, max(-100, bias)))
        }
        if params.repetitionPenalty != 1 {
            let p = Float(params.repetitionPenalty)
            func penalize(_ id: Int32) {
                guard id >= 0, Int(id) < l.count else { return }
                let v = l[Int(id)]
                l[Int(id)] = v > 0 ? v / p : v * p
            }
            for id in history.promptTokens { penalize(id) }
            for id in history.outputCounts.keys where !history.promptTokens.contains(id) { penalize(id) }
        }
        if params.frequencyPenalty != 0 || params.presencePenalty != 0 {
            let f = Float(params.frequencyPenalty), pr = Float(params.presencePenalty)
            for (id, count) in history.outputCounts where id >= 0 && Int(id) < l.count {
                l[Int(id)] -= f * Float(count) + pr
            }
        }
        return l
    }

    /// Index of the largest value; the first one on ties (as torch.argmax).
    public static func argmax(_ values: [Float]) -> Int32 {
        values.withUnsafeBufferPointer { v in
            var best = 0
            var bestValue = -Float.infinity
            for i in 0..<v.count where v[i] > bestValue {
                best = i
                bestValue = v[i]
            }
            return Int32(best)
        }
    }

    /// The tokens that survive temperature, min-p, top-k and top-p, with their unnormalized
    /// probabilities exp((l - max) / T). Never empty when any logit is finite.
    public static func candidates(_ processed: [Float], params: SamplingParams) -> [(id: Int32, weight: Float)] {
        let f = Filtered(processed, params: params)
        var kept: [(id: Int32, weight: Float)] = []
        for (i, w) in f.weights.enumerated() where w > 0 && w >= f.threshold { kept.append((Int32(i), w)) }
        return kept
    }

    /// Draws one surviving token with probability proportional to its weight.
    static func draw(_ processed: [Float], params: SamplingParams, rng: inout SplitMix64) -> Int32 {
        let f = Filtered(processed, params: params)
        return f.weights.withUnsafeBufferPointer { w in
            let threshold = f.threshold
            var total = 0.0
            for v in w where v >= threshold { total += Double(v) }
            let r = rng.nextUnit() * total
            var cumulative = 0.0
            var last = -1
            for i in 0..<w.count where w[i] >= threshold && w[i] > 0 {
                cumulative += Double(w[i])
                last = i
                if r < cumulative { return Int32(i) }
            }
            return Int32(max(last, 0))
        }
    }

    /// Log-softmax facts about `token` in one row: its logprob, its 1-based rank, and the `top`
    /// most likely tokens.
    public static func logprobs(row: [Float], token: Int32, top: Int) -> SampleResult {
        let lse = Selection.logSumExp(row)
        let value = row[Int(token)]
        let rank = row.withUnsafeBufferPointer { r in
            var n = 0
            for v in r where v >= value { n += 1 }
            return n
        }
        let topIds = Selection.topIndices(row, min(max(top, 0), row.count))
        return SampleResult(token: token, logprob: value - lse, rank: max(rank, 1),
                            topLogprobs: topIds.map { TokenLogprob(id: Int32($0), logprob: row[$0] - lse) })
    }

    /// Prompt logprobs (vLLM's `prompt_logprobs`): `rows[i]` are the logits after prompt position
    /// `i`, which predict token `i + 1`. The first position has none (nil), as in vLLM; rows past
    /// the prompt's end are ignored. Raw log-softmax, like sample logprobs.
    public static func promptLogprobs(rows: [[Float]], promptTokenIds: [Int32], top: Int) -> [SampleResult?] {
        var result: [SampleResult?] = [nil]
        for position in 1..<max(promptTokenIds.count, 1) where position - 1 < rows.count {
            let row = rows[position - 1]
            result.append(logprobs(row: row, token: promptTokenIds[position], top: top == -1 ? row.count : top))
        }
        return result
    }
}
