import Tensors

/// Why a sequence stopped.
public enum FinishReason: String, Sendable {
    case stop, length, abort
}

/// One request's tokens and progress. Counters, not phases: each step computes
/// `numTokens - numComputedTokens` more tokens (a prefill chunk, or the one newest token).
/// `numComputedTokens` advances when a step is launched (its KV is then on its way into the
/// cache, in device order); a drawn token is pending from the launch of the step that draws it
/// until that step finishes and appends it.
final class Sequence {
    let id: Int
    let params: SamplingParams
    /// Known tokens: the prompt and the outputs appended so far (not the pending one).
    private(set) var tokens: [Int32]
    let promptCount: Int
    var numComputedTokens = 0
    /// Tokens drawn by launched steps and not yet appended: 0 or 1, and 2 for a moment under
    /// async scheduling (between launching a step ahead and finishing the one before it).
    var numPendingTokens = 0
    /// Where the newest pending token waits on the device (drawn there), so that a step launched
    /// before it comes back can still take it as input (async scheduling); nil when drawn on the host.
    var deviceToken: (samples: any PendingSamples, draw: Int32)?
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

    /// Tokens including the pending one: what the scheduler plans with.
    var numTokens: Int { tokens.count + numPendingTokens }
    var outputTokens: ArraySlice<Int32> { tokens[promptCount...] }
    var numOutputTokens: Int { tokens.count - promptCount }
    var isFinished: Bool { finishReason != nil }
    /// Whether the pending token (if any) makes `maxTokens`: no later step is worth running.
    var reachesMaxTokens: Bool { numTokens - promptCount >= params.maxTokens }
    /// Whether drawing this sequence's next token reads its output so far (penalties, bad words,
    /// not the min-tokens ban, which needs only their count): then it cannot be drawn before the
    /// pending token comes back.
    var samplingReadsOutput: Bool {
        params.repetitionPenalty != 1 || params.frequencyPenalty != 0 || params.presencePenalty != 0
            || !badWordsTokenIds.isEmpty
    }

    /// Marks the token a launched step draws for this sequence (on the device where `deviceToken`).
    func markPending(deviceToken: (samples: any PendingSamples, draw: Int32)?) {
        numPendingTokens += 1
        self.deviceToken = deviceToken
    }

    /// Appends the token drawn by a finished step (the pending one).
    func append(_ token: Int32) {
        if numPendingTokens > 0 { numPendingTokens -= 1 }
        if numPendingTokens == 0 { deviceToken = nil }
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
        precondition(numPendingTokens == 0, "preempting a sequence whose token is still being drawn")
        numComputedTokens = 0
        numCachedTokens = 0
        blockTable = []
    }
}
