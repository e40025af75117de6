import Foundation

/// One chat message. `content` is a string, null, or a list of parts whose text parts are
/// joined; every other field (tool_calls, tool_call_id, name, reasoning_content) is passed to
/// the chat template as it came.
public struct ChatMessage: Decodable, Sendable {
    public var role: String
    public var content: String?
    /// The whole message as sent, with `content` flattened to a string.
    public var raw: [String: JSONValue]

    enum CodingKeys: String, CodingKey { case role, content }

    public static let roles: Set<String> = ["system", "developer", "user", "assistant", "tool", "function"]

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        role = try c.decode(String.self, forKey: .role)
        guard Self.roles.contains(role) else {
            throw DecodingError.dataCorruptedError(forKey: .role, in: c,
                debugDescription: "unknown role '\(role)'; expected one of system, developer, user, assistant, tool.")
        }
        if try !c.contains(.content) || c.decodeNil(forKey: .content) {
            content = nil
        } else if let s = try? c.decode(String.self, forKey: .content) {
            content = s
        } else if (try? c.nestedUnkeyedContainer(forKey: .content)) != nil {
            // A list: decode it for real so a bad part names itself.
            content = try c.decode([ContentPart].self, forKey: .content).compactMap(\.text).joined(separator: "\n")
        } else {
            throw DecodingError.typeMismatch(String.self, .init(codingPath: c.codingPath + [CodingKeys.content],
                debugDescription: "expected a string or a list of content parts ({\"type\": \"text\", \"text\": ...})"))
        }
        var raw = try decoder.singleValueContainer().decode([String: JSONValue].self)
        raw["content"] = content.map { .string($0) } ?? .null
        self.raw = raw
    }

    public init(role: String, content: String?) {
        self.role = role
        self.content = content
        raw = ["role": .string(role), "content": content.map { .string($0) } ?? .null]
    }
}

/// A part of a list-valued `content`; only text parts carry text (images need a vision model).
public struct ContentPart: Decodable, Sendable {
    public var type: String
    public var text: String?

    enum CodingKeys: String, CodingKey { case type, text }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        type = try c.decode(String.self, forKey: .type)
        switch type {
        case "text", "input_text": text = try c.decode(String.self, forKey: .text)
        default:
            throw DecodingError.dataCorruptedError(forKey: .type, in: c,
                debugDescription: "content part type '\(type)' is not supported by this model (text only).")
        }
    }
}

/// `POST /v1/chat/completions`.
public struct ChatCompletionRequest: Decodable, Sendable {
    public var model: String?
    public var messages: [ChatMessage]
    public var maxTokens: Int?
    public var maxCompletionTokens: Int?
    public var logprobs: Bool?
    public var topLogprobs: Int?
    public var tools: [JSONValue]?
    public var toolChoice: JSONValue?
    public var parallelToolCalls: Bool?
    public var chatTemplate: String?
    public var chatTemplateKwargs: [String: JSONValue]?
    public var addGenerationPrompt: Bool?
    public var continueFinalMessage: Bool?
    public var addSpecialTokens: Bool?
    public var sampling: SamplingFields

    enum CodingKeys: String, CodingKey {
        case model, messages, logprobs, tools
        case maxTokens = "max_tokens", maxCompletionTokens = "max_completion_tokens", topLogprobs = "top_logprobs"
        case toolChoice = "tool_choice", parallelToolCalls = "parallel_tool_calls", chatTemplate = "chat_template"
        case chatTemplateKwargs = "chat_template_kwargs", addGenerationPrompt = "add_generation_prompt"
        case continueFinalMessage = "continue_final_message", addSpecialTokens = "add_special_tokens"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        model = try c.decodeIfPresent(String.self, forKey: .model)
        messages = try c.decode([ChatMessage].self, forKey: .messages)
        maxTokens = try c.decodeIfPresent(Int.self, forKey: .maxTokens)
        maxCompletionTokens = try c.decodeIfPresent(Int.self, forKey: .maxCompletionTokens)
        logprobs = try c.decodeIfPresent(Bool.self, forKey: .logprobs)
        topLogprobs = try c.decodeIfPresent(Int.self, forKey: .topLogprobs)
        tools = try c.decodeIfPresent([JSONValue].self, forKey: .tools)
        toolChoice = try c.decodeIfPresent(JSONValue.self, forKey: .toolChoice)
        parallelToolCalls = try c.decodeIfPresent(Bool.self, forKey: .parallelToolCalls)
        chatTemplate = try c.decodeIfPresent(String.self, forKey: .chatTemplate)
        chatTemplateKwargs = try c.decodeIfPresent([String: JSONValue].self, forKey: .chatTemplateKwargs)
        addGenerationPrompt = try c.decodeIfPresent(Bool.self, forKey: .addGenerationPrompt)
        continueFinalMessage = try c.decodeIfPresent(Bool.self, forKey: .continueFinalMessage)
        addSpecialTokens = try c.decodeIfPresent(Bool.self, forKey: .addSpecialTokens)
        sampling = try SamplingFields(from: decoder)
    }

    /// Checks that need the whole request (vLLM's model validators).
    public func validate() throws {
        if messages.isEmpty { throw APIError.badRequest("messages must contain at least one message.", param: "messages") }
        if let topLogprobs {
            if topLogprobs < 0 || topLogprobs > 20 {
                throw APIError.badRequest("top_logprobs must be between 0 and 20, got \(topLogprobs).", param: "top_logprobs")
            }
            if !(logprobs ?? false), topLogprobs > 0 {
                throw APIError.badRequest("when using `top_logprobs`, `logprobs` must be set to true.", param: "top_logprobs")
            }
        }
        if (continueFinalMessage ?? false) && (addGenerationPrompt ?? false) {
            throw APIError.badRequest("Cannot set both `continue_final_message` and `add_generation_prompt` to True.",
                                      param: "continue_final_message")
        }
        if (continueFinalMessage ?? false) && messages.last?.role != "assistant" {
            throw APIError.badRequest("continue_final_message requires the last message to be from the assistant.",
                                      param: "continue_final_message")
        }
        if let toolChoice {
            switch toolChoice {
            case .string("auto"), .string("none"): break
            case .string("required"), .object:
                throw APIError.badRequest("tool_choice '\(toolChoice.string ?? "named function")' needs constrained decoding, which this server does not support yet; use \"auto\" or \"none\".", param: "tool_choice")
            default:
                throw APIError.badRequest("tool_choice must be \"auto\", \"none\", \"required\" or a named function.", param: "tool_choice")
            }
        }
    }
}
