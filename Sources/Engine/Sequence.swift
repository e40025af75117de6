/// Why a sequence stopped.
public enum FinishReason: String, Sendable {
    case stop, length, abort
}

/// One request's tokens and progress. Counters, not phases: each step computes
/// `numTokens - numComputedTokens` more tokens (a prefill chunk, or the one newest token).
final class Sequence {
    let id: Int
    let params: SamplingParams
    private(set) var tokens: [Int32]
    let promptCount: Int
    var numComputedTokens = 0
    /// Prompt tokens served from the prefix cache when the sequence was (last) admitted.
    var numCachedTokens = 0
    var blockTable: [Int32] = []
    var finishReason: FinishReason?
    /// The stop token that ended the sequence (nil for EOS, as vLLM reports it).
    var stopTokenId: Int?
    let eosTokenIds: Set<Int32>
    /// Token sequences that may not be generated (`bad_words`, tokenized).
    let badWordsTokenIds: [[Int32]]
    /// Prompt and output token counts for penalties, kept up to date as tokens are appended.
    private(set) var history: SamplingHistory
    /// Logits rows of prompt positions collected across prefill chunks, for `prompt_logprobs`.
    var promptLogitRows: [[Float]] = []
    var rng: SplitMix64

    init(id: Int, prompt: [Int32], params: SamplingParams, eosTokenIds: Set<Int32>, badWordsTokenIds: [[Int32]] = []) {
        self.id = id
        self.tokens = prompt
        self.promptCount = prompt.count
        self.params = params
        self.eosTokenIds = eosTokenIds
        self.badWordsTokenIds = badWordsTokenIds
        history = SamplingHistory(prompt: prompt)
        rng = SplitMix64(seed: params.seed ?? UInt64.random(in: 0...UInt64.max))
    }

    var wantsPromptLogprobs: Bool { params.promptLogprobs != nil }

    var numTokens: Int { tokens.count }
    var outputTokens: ArraySlice<Int32> { tokens[promptCount...] }
    var numOutputTokens: Int { tokens.count - promptCount }
    var isFinished: Bool { finishReason != nil }

    func append(_ token: Int32) {
        tokens.append(token)
        history.append(token)
        if numOutputTokens >= params.maxTokens {
            finishReason = .length
        } else if !params.ignoreEos && eosTokenIds.contains(token) && numOutputTokens > params.minTokens {
            finishReason = .stop
        } else if params.stopTokenIds.contains(Int(token)) && numOutputTokens > params.minTokens {
            finishReason = .stop
            stopTokenId = Int(token)
        }
    }

    /// Forget computed state (preemption by recompute); generated tokens stay and are recomputed.
    func resetForRecompute() {
        numComputedTokens = 0
        numCachedTokens = 0
        blockTable = []
    }
}
