import Engine
import Foundation

public struct UsageInfo: Encodable, Sendable {
    public var promptTokens: Int
    public var completionTokens: Int
    public var totalTokens: Int { promptTokens + completionTokens }

    enum CodingKeys: String, CodingKey {
        case promptTokens = "prompt_tokens", completionTokens = "completion_tokens", totalTokens = "total_tokens"
    }

    public init(promptTokens: Int, completionTokens: Int) {
        self.promptTokens = promptTokens
        self.completionTokens = completionTokens
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(promptTokens, forKey: .promptTokens)
        try c.encode(completionTokens, forKey: .completionTokens)
        try c.encode(totalTokens, forKey: .totalTokens)
    }
}

/// vLLM's `stop_reason`: the stop string or token id that ended a choice, else null.
public enum StopReasonValue: Encodable, Sendable {
    case string(String)
    case tokenId(Int)

    init?(_ reason: StopReason?) {
        switch reason {
        case .string(let s): self = .string(s)
        case .tokenId(let id): self = .tokenId(id)
        case nil: return nil
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .string(let s): try c.encode(s)
        case .tokenId(let id): try c.encode(id)
        }
    }
}

// MARK: /v1/completions

/// The legacy completions `logprobs` object (parallel lists).
public struct CompletionLogprobs: Encodable, Sendable {
    public var textOffset: [Int] = []
    public var tokenLogprobs: [Double?] = []
    public var tokens: [String] = []
    public var topLogprobs: [[String: Double]?] = []

    enum CodingKeys: String, CodingKey {
        case textOffset = "text_offset", tokenLogprobs = "token_logprobs", tokens, topLogprobs = "top_logprobs"
    }

    public init() {}

    /// Appends positions; `offset` is where the first one's text starts in the choice's text.
    mutating func append(_ positions: [[Logprob]], startingAt offset: Int) {
        var offset = offset
        for candidates in positions {
            guard let sampled = candidates.first else { continue }
            tokens.append(sampled.decodedToken)
            tokenLogprobs.append(Double(sampled.logprob))
            textOffset.append(offset)
            offset += sampled.decodedToken.count
            var top: [String: Double] = [:]
            for candidate in candidates where top[candidate.decodedToken] == nil {
                top[candidate.decodedToken] = Double(candidate.logprob)
            }
            topLogprobs.append(top)
        }
    }
}

public struct CompletionChoice: Encodable, Sendable {
    public var index: Int
    public var text: String
    @NullEncoded public var logprobs: CompletionLogprobs?
    @NullEncoded public var finishReason: String?
    @NullEncoded public var stopReason: StopReasonValue?

    enum CodingKeys: String, CodingKey {
        case index, text, logprobs, finishReason = "finish_reason", stopReason = "stop_reason"
    }

    public init(index: Int, text: String, logprobs: CompletionLogprobs?, finishReason: String?, stopReason: StopReasonValue?) {
        self.index = index
        self.text = text
        self.logprobs = logprobs
        self.finishReason = finishReason
        self.stopReason = stopReason
    }
}

/// A completion, or one chunk of a streamed one (same object, as OpenAI sends it).
public struct CompletionResponse: Encodable, Sendable {
    public var id: String
    public var object = "text_completion"
    public var created: Int
    public var model: String
    public var choices: [CompletionChoice]
    public var usage: UsageInfo?
}

// MARK: /v1/chat/completions

public struct ChatLogprobEntry: Encodable, Sendable {
    public struct Top: Encodable, Sendable {
        public var token: String
        public var logprob: Double
        public var bytes: [UInt8]?
    }
    public var token: String
    public var logprob: Double
    public var bytes: [UInt8]?
    public var topLogprobs: [Top]

    enum CodingKeys: String, CodingKey { case token, logprob, bytes, topLogprobs = "top_logprobs" }

    init(_ candidates: [Logprob], top: Int) {
        let sampled = candidates[0]
        token = sampled.decodedToken
        logprob = Double(max(sampled.logprob, -9999))
        bytes = Array(sampled.decodedToken.utf8)
        // The k most likely tokens, the sampled one among them when it ranks within k (vLLM).
        topLogprobs = candidates.sorted { $0.rank < $1.rank }.prefix(top).map {
            Top(token: $0.decodedToken, logprob: Double(max($0.logprob, -9999)), bytes: Array($0.decodedToken.utf8))
        }
    }
}

public struct ChatLogprobs: Encodable, Sendable {
    public var content: [ChatLogprobEntry]

    init?(_ positions: [[Logprob]]?, top: Int) {
        guard let positions else { return nil }
        content = positions.filter { !$0.isEmpty }.map { ChatLogprobEntry($0, top: top) }
    }
}

public struct ToolCallFunction: Codable, Sendable, Equatable {
    public var name: String?
    public var arguments: String?
    public init(name: String?, arguments: String?) {
        self.name = name
        self.arguments = arguments
    }
}

/// A whole tool call (`message.tool_calls`) or a piece of one (`delta.tool_calls`).
public struct ToolCall: Codable, Sendable, Equatable {
    public var index: Int?
    public var id: String?
    public var type: String?
    public var function: ToolCallFunction
    public init(index: Int? = nil, id: String? = nil, type: String? = "function", function: ToolCallFunction) {
        self.index = index
        self.id = id
        self.type = type
        self.function = function
    }
}

public struct ChatResponseMessage: Encodable, Sendable {
    public var role = "assistant"
    @NullEncoded public var content: String?
    @NullEncoded public var reasoningContent: String?
    public var toolCalls: [ToolCall] = []

    enum CodingKeys: String, CodingKey { case role, content, reasoningContent = "reasoning_content", toolCalls = "tool_calls" }
}

public struct ChatChoice: Encodable, Sendable {
    public var index: Int
    public var message: ChatResponseMessage
    @NullEncoded public var logprobs: ChatLogprobs?
    @NullEncoded public var finishReason: String?
    @NullEncoded public var stopReason: StopReasonValue?

    enum CodingKeys: String, CodingKey {
        case index, message, logprobs, finishReason = "finish_reason", stopReason = "stop_reason"
    }
}

public struct ChatCompletionResponse: Encodable, Sendable {
    public var id: String
    public var object = "chat.completion"
    public var created: Int
    public var model: String
    public var choices: [ChatChoice]
    public var usage: UsageInfo
}

/// What a stream chunk adds to a choice; empty fields are left out.
public struct DeltaMessage: Encodable, Sendable, Equatable {
    public var role: String?
    public var content: String?
    public var reasoningContent: String?
    public var toolCalls: [ToolCall]?

    enum CodingKeys: String, CodingKey { case role, content, reasoningContent = "reasoning_content", toolCalls = "tool_calls" }

    public init(role: String? = nil, content: String? = nil, reasoningContent: String? = nil, toolCalls: [ToolCall]? = nil) {
        self.role = role
        self.content = content
        self.reasoningContent = reasoningContent
        self.toolCalls = toolCalls
    }
}

public struct ChatChunkChoice: Encodable, Sendable {
    public var index: Int
    public var delta: DeltaMessage
    @NullEncoded public var logprobs: ChatLogprobs?
    @NullEncoded public var finishReason: String?
    @NullEncoded public var stopReason: StopReasonValue?

    enum CodingKeys: String, CodingKey {
        case index, delta, logprobs, finishReason = "finish_reason", stopReason = "stop_reason"
    }
}

public struct ChatCompletionChunk: Encodable, Sendable {
    public var id: String
    public var object = "chat.completion.chunk"
    public var created: Int
    public var model: String
    public var choices: [ChatChunkChoice]
    public var usage: UsageInfo?
}

extension FinishReason {
    /// OpenAI's spelling.
    var openAI: String {
        switch self {
        case .stop: "stop"
        case .length: "length"
        case .abort: "abort"
        }
    }
}
