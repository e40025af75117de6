/// One candidate token's log-probability at a position (vLLM's `Logprob`, keyed by token id).
public struct Logprob: Sendable, Equatable {
    public let tokenId: Int
    public let logprob: Float
    /// 1-based rank among the whole vocabulary.
    public let rank: Int
    public let decodedToken: String

    public init(tokenId: Int, logprob: Float, rank: Int, decodedToken: String) {
        self.tokenId = tokenId
        self.logprob = logprob
        self.rank = rank
        self.decodedToken = decodedToken
    }
}

/// What ended a sequence with finish reason `stop`.
public enum StopReason: Sendable, Equatable {
    case string(String)
    case tokenId(Int)
}

/// One of a request's `n` completions (vLLM's `CompletionOutput`).
public struct CompletionOutput: Sendable {
    public var index: Int
    /// All text so far, or only the new text when the request asked for deltas.
    public var text: String
    public var tokenIds: [Int]
    public var cumulativeLogprob: Double?
    /// Per generated position: the sampled token first, then the top `logprobs` alternatives.
    public var logprobs: [[Logprob]]?
    public var finishReason: FinishReason?
    public var stopReason: StopReason?

    public var finished: Bool { finishReason != nil }
}

/// Timing of one request, for metrics (seconds on the monotonic clock).
public struct RequestMetrics: Sendable {
    public var arrivalTime: Double
    public var firstTokenTime: Double?
    public var finishedTime: Double?
    /// Prompt tokens served from the prefix cache.
    public var numCachedTokens = 0
}

/// A request's state as reported after a step (vLLM's `RequestOutput`).
public struct RequestOutput: Sendable {
    public let requestId: String
    public let prompt: String?
    public let promptTokenIds: [Int]
    /// Per prompt position (nil at the first), when `prompt_logprobs` was asked for.
    public var promptLogprobs: [[Logprob]?]?
    public var outputs: [CompletionOutput]
    public var finished: Bool
    public var metrics: RequestMetrics
}

/// How much each streamed `RequestOutput` carries.
public enum OutputKind: Sendable {
    /// Everything so far, every step.
    case cumulative
    /// Only what is new since the previous output (streaming).
    case delta
    /// One output when the request finishes.
    case finalOnly
}

/// A prompt as text (tokenized with the model's special tokens) or as token ids.
public enum PromptInput: Sendable {
    case text(String)
    case tokens([Int])
}
