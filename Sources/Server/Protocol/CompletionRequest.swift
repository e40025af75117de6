import Foundation

/// `prompt`: a string, a list of strings, a list of token ids, or a list of those.
public enum PromptField: Decodable, Sendable, Equatable {
    case texts([String])
    case tokenLists([[Int]])

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let s = try? c.decode(String.self) { self = .texts([s]); return }
        if let a = try? c.decode([String].self) { self = .texts(a); return }
        if let ids = try? c.decode([Int].self) { self = .tokenLists([ids]); return }
        if let lists = try? c.decode([[Int]].self) { self = .tokenLists(lists); return }
        throw DecodingError.typeMismatch(String.self, .init(codingPath: decoder.codingPath,
            debugDescription: "expected a string, a list of strings, a list of token ids or a list of token id lists"))
    }

    public var count: Int {
        switch self {
        case .texts(let t): t.count
        case .tokenLists(let l): l.count
        }
    }
}

/// `POST /v1/completions` (OpenAI's fields and vLLM's extras; unknown fields are ignored).
public struct CompletionRequest: Decodable, Sendable {
    public var model: String?
    public var prompt: PromptField
    public var maxTokens: Int?
    public var logprobs: Int?
    public var suffix: String?
    public var addSpecialTokens: Bool?
    public var sampling: SamplingFields

    enum CodingKeys: String, CodingKey {
        case model, prompt, logprobs, suffix
        case maxTokens = "max_tokens", addSpecialTokens = "add_special_tokens"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        model = try c.decodeIfPresent(String.self, forKey: .model)
        prompt = try c.decode(PromptField.self, forKey: .prompt)
        maxTokens = try c.decodeIfPresent(Int.self, forKey: .maxTokens)
        logprobs = try c.decodeIfPresent(Int.self, forKey: .logprobs)
        suffix = try c.decodeIfPresent(String.self, forKey: .suffix)
        addSpecialTokens = try c.decodeIfPresent(Bool.self, forKey: .addSpecialTokens)
        sampling = try SamplingFields(from: decoder)
    }
}
