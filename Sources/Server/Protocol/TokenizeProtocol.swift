import Foundation

/// `POST /tokenize`: a `prompt`, or chat `messages` rendered through the chat template.
public struct TokenizeRequest: Decodable, Sendable {
    public var model: String?
    public var prompt: String?
    public var messages: [ChatMessage]?
    public var addSpecialTokens: Bool?
    public var addGenerationPrompt: Bool?
    public var continueFinalMessage: Bool?
    public var returnTokenStrs: Bool?
    public var chatTemplateKwargs: [String: JSONValue]?
    public var tools: [JSONValue]?

    enum CodingKeys: String, CodingKey {
        case model, prompt, messages, tools
        case addSpecialTokens = "add_special_tokens", addGenerationPrompt = "add_generation_prompt"
        case continueFinalMessage = "continue_final_message", returnTokenStrs = "return_token_strs"
        case chatTemplateKwargs = "chat_template_kwargs"
    }
}

public struct TokenizeResponse: Encodable, Sendable {
    public var count: Int
    public var maxModelLen: Int
    public var tokens: [Int]
    @NullEncoded public var tokenStrs: [String]?

    enum CodingKeys: String, CodingKey { case count, maxModelLen = "max_model_len", tokens, tokenStrs = "token_strs" }
}

public struct DetokenizeRequest: Decodable, Sendable {
    public var model: String?
    public var tokens: [Int]
}

public struct DetokenizeResponse: Encodable, Sendable {
    public var prompt: String
}
