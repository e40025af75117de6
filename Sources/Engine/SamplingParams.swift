import Models

/// How to pick tokens for one request: vLLM's `SamplingParams`, same fields, same defaults, same
/// validation messages.
///
/// **Explicit versus default.** vLLM fills the fields a request left unset from the model's
/// `generation_config.json`. So the six fields that file can supply (`temperature`, `topP`, `topK`,
/// `minP`, `repetitionPenalty`, `maxTokens`) are stored as optionals: `nil` means "the request was
/// silent". Reading one gives its effective value (the request's, else the generation default once
/// `applyDefaults(from:)` ran, else vLLM's default); assigning one marks it explicit. Initializer
/// arguments left out (or passed as `nil`) are silent. `explicitFields` says which were set.
///
/// **`maxTokens`.** vLLM's `max_tokens=None` ("up to the context limit") is `Int.max` here
/// (`SamplingParams.unlimitedTokens`), so the engine's `min(maxTokens, room left)` applies the limit.
public struct SamplingParams: Sendable, Equatable {
    /// Fields whose value can come from `generation_config.json`.
    public enum GenerationField: String, Sendable, Hashable, CaseIterable {
        case temperature, topP = "top_p", topK = "top_k", minP = "min_p"
        case repetitionPenalty = "repetition_penalty", maxTokens = "max_tokens"
    }

    /// `maxTokens` value meaning "no limit of its own": generate up to the context limit.
    public static let unlimitedTokens = Int.max

    /// Number of outputs per prompt.
    public var n: Int
    /// vLLM's legacy `best_of`; must be at least `n` when given.
    public var bestOf: Int?
    /// Penalties in [-2, 2]: subtract `presence` once and `frequency × count` for every token
    /// already in the output.
    public var presencePenalty: Double
    public var frequencyPenalty: Double
    /// Per-request generator seed; nil draws a random one.
    public var seed: UInt64?
    /// Stop strings, matched on the detokenized text (see `StopChecker`).
    public var stop: [String]
    public var stopTokenIds: [Int]
    public var includeStopStrInOutput: Bool
    public var ignoreEos: Bool
    /// EOS and `stopTokenIds` are banned until this many tokens were generated.
    public var minTokens: Int
    /// Top log probabilities per output token: nil = none, k ≥ 0, or -1 = the whole vocabulary.
    public var logprobs: Int?
    /// The same for prompt tokens.
    public var promptLogprobs: Int?
    /// Added to the logits of these token ids (clamped to [-100, 100], as vLLM does).
    public var logitBias: [Int: Double]
    /// When set, every other token is masked out.
    public var allowedTokenIds: [Int]?
    /// Words that may not be generated; the engine tokenizes them (`badWordsTokenIds(encode:)`).
    public var badWords: [String]
    public var skipSpecialTokens: Bool
    public var spacesBetweenSpecialTokens: Bool

    private var _temperature: Double?
    private var _topP: Double?
    private var _topK: Int?
    private var _minP: Double?
    private var _repetitionPenalty: Double?
    private var _maxTokens: Int?

    /// 0 is greedy. vLLM raises values in (0, 0.01) to 0.01 (`effectiveTemperature`).
    public var temperature: Double { get { _temperature ?? 1 } set { _temperature = newValue } }
    /// Nucleus mass in (0, 1]; 1 disables.
    public var topP: Double { get { _topP ?? 1 } set { _topP = newValue } }
    /// 0 or -1 disables (vLLM 0.10+ prefers 0).
    public var topK: Int { get { _topK ?? 0 } set { _topK = newValue } }
    /// Keep tokens with probability ≥ minP × the top probability; 0 disables.
    public var minP: Double { get { _minP ?? 0 } set { _minP = newValue } }
    /// > 1 discourages tokens already in the prompt or output.
    public var repetitionPenalty: Double { get { _repetitionPenalty ?? 1 } set { _repetitionPenalty = newValue } }
    /// Tokens to generate at most; 16 by default, `unlimitedTokens` for up to the context limit.
    public var maxTokens: Int { get { _maxTokens ?? 16 } set { _maxTokens = newValue } }

    public init(n: Int = 1, bestOf: Int? = nil,
                presencePenalty: Double = 0, frequencyPenalty: Double = 0, repetitionPenalty: Double? = nil,
                temperature: Double? = nil, topP: Double? = nil, topK: Int? = nil, minP: Double? = nil,
                seed: UInt64? = nil, stop: [String] = [], stopTokenIds: [Int] = [],
                includeStopStrInOutput: Bool = false, ignoreEos: Bool = false,
                maxTokens: Int? = nil, minTokens: Int = 0, logprobs: Int? = nil, promptLogprobs: Int? = nil,
                logitBias: [Int: Double] = [:], allowedTokenIds: [Int]? = nil, badWords: [String] = [],
                skipSpecialTokens: Bool = true, spacesBetweenSpecialTokens: Bool = true) {
        self.n = n
        self.bestOf = bestOf
        self.presencePenalty = presencePenalty
        self.frequencyPenalty = frequencyPenalty
        self.seed = seed
        self.stop = stop
        self.stopTokenIds = stopTokenIds
        self.includeStopStrInOutput = includeStopStrInOutput
        self.ignoreEos = ignoreEos
        self.minTokens = minTokens
        self.logprobs = logprobs
        self.promptLogprobs = promptLogprobs
        self.logitBias = logitBias
        self.allowedTokenIds = allowedTokenIds
        self.badWords = badWords
        self.skipSpecialTokens = skipSpecialTokens
        self.spacesBetweenSpecialTokens = spacesBetweenSpecialTokens
        _temperature = temperature
        _topP = topP
        _topK = topK
        _minP = minP
        _repetitionPenalty = repetitionPenalty
        _maxTokens = maxTokens
    }

    public static let greedy = SamplingParams(temperature: 0)

    /// The fields the request set (or `applyDefaults` filled); the others read as vLLM's defaults.
    public var explicitFields: Set<GenerationField> {
        var set: Set<GenerationField> = []
        if _temperature != nil { set.insert(.temperature) }
        if _topP != nil { set.insert(.topP) }
        if _topK != nil { set.insert(.topK) }
        if _minP != nil { set.insert(.minP) }
        if _repetitionPenalty != nil { set.insert(.repetitionPenalty) }
        if _maxTokens != nil { set.insert(.maxTokens) }
        return set
    }

    /// Fills the fields the request left unset from the model's generation defaults, as vLLM does
    /// with `generation_config.json`. `max_new_tokens` is, as in vLLM's server, also a cap on an
    /// explicit `maxTokens`.
    public mutating func applyDefaults(from generation: GenerationDefaults) {
        if _temperature == nil { _temperature = generation.temperature }
        if _topP == nil { _topP = generation.topP }
        if _topK == nil { _topK = generation.topK }
        if _minP == nil { _minP = generation.minP }
        if _repetitionPenalty == nil { _repetitionPenalty = generation.repetitionPenalty }
        if let cap = generation.maxTokens { _maxTokens = min(_maxTokens ?? cap, cap) }
    }

    /// True when sampling is greedy (vLLM: temperature below 1e-5).
    public var isGreedy: Bool { temperature < 1e-5 }

    /// The temperature the sampler divides by: vLLM raises (0, 0.01) to 0.01 to avoid inf/nan.
    public var effectiveTemperature: Double { isGreedy ? 0 : max(temperature, 0.01) }

    /// Top-k with both "off" spellings (0 and -1) mapped to nil.
    public var effectiveTopK: Int? { topK > 0 ? topK : nil }

    /// Token id sequences to ban for `badWords`, as vLLM builds them: each word tokenized as is
    /// (leading spaces stripped) and, when that gives a different first token of the same length,
    /// with one leading space, so a word is banned at the start of the text and after a space.
    /// `encode` tokenizes without special tokens.
    public func badWordsTokenIds(encode: (String) -> [Int]) -> [[Int32]] {
        var result: [[Int32]] = []
        for word in badWords {
            let bare = String(word.drop { $0.isWhitespace })
            let plain = encode(bare)
            guard !plain.isEmpty else { continue }
            result.append(plain.map { Int32($0) })
            let spaced = encode(" " + bare)
            if !spaced.isEmpty, spaced[0] != plain[0], spaced.count == plain.count {
                result.append(spaced.map { Int32($0) })
            }
        }
        return result
    }
}

/// What a model's `generation_config.json` says about sampling; nil where it is silent.
public struct GenerationDefaults: Sendable, Equatable {
    public var temperature: Double?
    public var topP: Double?
    public var topK: Int?
    public var minP: Double?
    public var repetitionPenalty: Double?
    /// `max_new_tokens`.
    public var maxTokens: Int?

    public init(temperature: Double? = nil, topP: Double? = nil, topK: Int? = nil, minP: Double? = nil,
                repetitionPenalty: Double? = nil, maxTokens: Int? = nil) {
        self.temperature = temperature
        self.topP = topP
        self.topK = topK
        self.minP = minP
        self.repetitionPenalty = repetitionPenalty
        self.maxTokens = maxTokens
    }

    public init(_ config: GenerationConfig) {
        self.init(temperature: config.temperature, topP: config.topP, topK: config.topK, minP: config.minP,
                  repetitionPenalty: config.repetitionPenalty, maxTokens: config.maxNewTokens)
    }
}
