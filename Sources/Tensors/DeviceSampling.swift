/// One row's instructions for `Backend.sample`. The engine builds them from a request's sampling
/// parameters; the arithmetic is the host sampler's, step for step, so a seeded request draws the
/// same token on either side given the same logits.
public struct RowSampling: Sendable, Equatable {
    /// The logits row to sample from.
    public var row: Int32
    /// 1 / max(temperature, 0.01); 0 means greedy (argmax, first on ties).
    public var invTemperature: Float
    /// Keep the `topK` largest logits; 0 = off.
    public var topK: Int32
    /// Keep the most likely tokens whose preceding mass is below `topP` of the total; 1 = off.
    public var topP: Double
    /// log(min_p): keep logits at least max + logMinP / invTemperature; -inf = off.
    public var logMinP: Float
    /// The request's uniform draw in [0, 1) for this step (unused when greedy).
    public var uniform: Double
    /// Only tokens named by an edit with `allowed` survive (`allowed_token_ids`).
    public var restricted: Bool
    /// How many most likely tokens to report with the drawn token's logprob and rank; -1 = no
    /// logprobs; at most `RowSampling.maxTopLogprobs`.
    public var logprobs: Int32

    /// The most top logprobs a backend returns per row (vLLM's default `max_logprobs`).
    public static let maxTopLogprobs = 20

    public init(row: Int32, invTemperature: Float, topK: Int32 = 0, topP: Double = 1, logMinP: Float = -.infinity,
                uniform: Double = 0, restricted: Bool = false, logprobs: Int32 = -1) {
        self.row = row
        self.invTemperature = invTemperature
        self.topK = topK
        self.topP = topP
        self.logMinP = logMinP
        self.uniform = uniform
        self.restricted = restricted
        self.logprobs = logprobs
    }
}

/// A change to one token's logit before sampling; at most one per (sample, token). In order:
/// banned tokens become -inf; otherwise v += bias, then the repetition penalty (positive v
/// divided by it, negative multiplied), then v -= subtract. In a `restricted` row a token without
/// an `allowed` edit is -inf whatever else applies.
public struct LogitEdit: Sendable, Equatable {
    /// Index into the `rows` passed to `sample`.
    public var sample: Int32
    public var token: Int32
    public var bias: Float
    public var repetition: Float
    public var subtract: Float
    public var banned: Bool
    public var allowed: Bool

    public init(sample: Int32, token: Int32, bias: Float = 0, repetition: Float = 1, subtract: Float = 0,
                banned: Bool = false, allowed: Bool = false) {
        self.sample = sample
        self.token = token
        self.bias = bias
        self.repetition = repetition
        self.subtract = subtract
        self.banned = banned
        self.allowed = allowed
    }

    /// The edited value of a logit `v` (the contract backends implement).
    public func apply(to v: Float) -> Float {
        if banned { return -.infinity }
        var x = v + bias
        if repetition != 1 { x = x > 0 ? x / repetition : x * repetition }
        return x - subtract
    }

    /// `row` after the edits of sample `sample` (a host reference for the device kernels).
    public static func apply(_ edits: [LogitEdit], sample: Int32, restricted: Bool, to row: [Float]) -> [Float] {
        var out = restricted ? [Float](repeating: -.infinity, count: row.count) : row
        for e in edits where e.sample == sample && (!restricted || e.allowed) {
            out[Int(e.token)] = e.apply(to: row[Int(e.token)])
        }
        return out
    }
}

/// What a backend's sampler returns for one row. `logprob` and `rank` are of the raw logits
/// (log-softmax before any edit), as vLLM's default `raw_logprobs`; they and `top` are filled only
/// when the row asked for logprobs.
public struct SampledToken: Sendable, Equatable {
    public var token: Int32
    public var logprob: Float
    public var rank: Int
    public var top: [(id: Int32, logprob: Float)]

    public init(token: Int32, logprob: Float = .nan, rank: Int = 0, top: [(id: Int32, logprob: Float)] = []) {
        self.token = token
        self.logprob = logprob
        self.rank = rank
        self.top = top
    }

    public static func == (a: SampledToken, b: SampledToken) -> Bool {
        a.token == b.token && a.rank == b.rank && (a.logprob == b.logprob || (a.logprob.isNaN && b.logprob.isNaN))
            && a.top.elementsEqual(b.top) { $0.id == $1.id && $0.logprob == $1.logprob }
    }
}
