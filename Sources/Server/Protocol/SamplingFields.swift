import Engine
import Foundation

/// `stream_options`.
public struct StreamOptions: Decodable, Sendable {
    public var includeUsage: Bool?
    public var continuousUsageStats: Bool?
    enum CodingKeys: String, CodingKey {
        case includeUsage = "include_usage", continuousUsageStats = "continuous_usage_stats"
    }
}

/// The sampling fields `/v1/completions` and `/v1/chat/completions` share (OpenAI's and vLLM's
/// extras), decoded from the same JSON object as the request around them.
public struct SamplingFields: Decodable, Sendable {
    public var n: Int?
    public var bestOf: Int?
    public var temperature: Double?
    public var topP: Double?
    public var topK: Int?
    public var minP: Double?
    public var presencePenalty: Double?
    public var frequencyPenalty: Double?
    public var repetitionPenalty: Double?
    public var seed: Int?
    public var stop: StringOrList?
    public var stopTokenIds: [Int]?
    public var includeStopStrInOutput: Bool?
    public var ignoreEos: Bool?
    public var minTokens: Int?
    public var logitBias: [String: Double]?
    public var allowedTokenIds: [Int]?
    public var badWords: [String]?
    public var skipSpecialTokens: Bool?
    public var spacesBetweenSpecialTokens: Bool?
    public var promptLogprobs: Int?
    public var stream: Bool?
    public var streamOptions: StreamOptions?
    public var user: String?
    public var echo: Bool?

    enum CodingKeys: String, CodingKey {
        case n, temperature, seed, stop, user, stream, echo
        case bestOf = "best_of", topP = "top_p", topK = "top_k", minP = "min_p"
        case presencePenalty = "presence_penalty", frequencyPenalty = "frequency_penalty"
        case repetitionPenalty = "repetition_penalty", stopTokenIds = "stop_token_ids"
        case includeStopStrInOutput = "include_stop_str_in_output", ignoreEos = "ignore_eos"
        case minTokens = "min_tokens", logitBias = "logit_bias", allowedTokenIds = "allowed_token_ids"
        case badWords = "bad_words", skipSpecialTokens = "skip_special_tokens"
        case spacesBetweenSpecialTokens = "spaces_between_special_tokens", promptLogprobs = "prompt_logprobs"
        case streamOptions = "stream_options"
    }

    public var isStream: Bool { stream ?? false }
    public var includeUsage: Bool { isStream && (streamOptions?.includeUsage ?? false) }

    /// The engine's parameters for this request. `maxTokens` is the request's (nil: up to the
    /// context limit), `logprobs` the number of alternatives per position (nil: none).
    public func samplingParams(maxTokens: Int?, logprobs: Int?, defaults: GenerationDefaults) throws -> SamplingParams {
        var bias: [Int: Double] = [:]
        for (key, value) in logitBias ?? [:] {
            guard let id = Int(key) else {
                throw APIError.badRequest("logit_bias keys must be token ids, got '\(key)'.", param: "logit_bias")
            }
            bias[id] = value
        }
        if let streamOptions, !isStream, streamOptions.includeUsage != nil {
            throw APIError.badRequest("Stream options can only be defined when `stream=True`.", param: "stream_options")
        }
        var params = SamplingParams(
            n: n ?? 1, bestOf: bestOf,
            temperature: temperature, topP: topP, topK: topK, minP: minP,
            seed: seed.map { UInt64(bitPattern: Int64($0)) }, maxTokens: maxTokens, minTokens: minTokens ?? 0,
            stop: stop?.values ?? [], stopTokenIds: stopTokenIds ?? [],
            includeStopStrInOutput: includeStopStrInOutput ?? false, ignoreEos: ignoreEos ?? false,
            presencePenalty: presencePenalty ?? 0, frequencyPenalty: frequencyPenalty ?? 0,
            repetitionPenalty: repetitionPenalty, logprobs: logprobs, promptLogprobs: promptLogprobs,
            logitBias: bias, allowedTokenIds: allowedTokenIds, badWords: badWords ?? [],
            skipSpecialTokens: skipSpecialTokens ?? true, spacesBetweenSpecialTokens: spacesBetweenSpecialTokens ?? true)
        params.applyDefaults(from: defaults)
        if maxTokens == nil, defaults.maxTokens == nil { params.maxTokens = SamplingParams.unlimitedTokens }
        return params
    }
}
