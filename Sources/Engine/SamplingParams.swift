/// How to pick tokens for one request (vLLM's `SamplingParams`; the subset the first generation
/// path needs — the engine issue completes it).
public struct SamplingParams: Sendable, Equatable {
    /// 0 means greedy.
    public var temperature: Double
    public var topP: Double
    /// -1 or 0 disables.
    public var topK: Int
    public var minP: Double
    public var seed: UInt64?
    public var maxTokens: Int
    public var stopTokenIds: [Int]
    public var ignoreEos: Bool

    public init(temperature: Double = 1, topP: Double = 1, topK: Int = -1, minP: Double = 0, seed: UInt64? = nil,
                maxTokens: Int = 16, stopTokenIds: [Int] = [], ignoreEos: Bool = false) {
        self.temperature = temperature
        self.topP = topP
        self.topK = topK
        self.minP = minP
        self.seed = seed
        self.maxTokens = maxTokens
        self.stopTokenIds = stopTokenIds
        self.ignoreEos = ignoreEos
    }

    public static let greedy = SamplingParams(temperature: 0)
}
