import Foundation

/// A small, fast, seedable generator (SplitMix64), one per request so that a seeded request
/// samples the same tokens whatever else is in the batch.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Picks the next token from one row of logits: greedy at temperature 0, otherwise temperature,
/// top-k, top-p and min-p filtering then a draw.
enum Sampler {
    static func sample(_ logits: [Float], params: SamplingParams, rng: inout SplitMix64) -> Int32 {
        if params.temperature == 0 { return argmax(logits) }
        let t = Float(params.temperature)
        var order = Array(logits.indices).sorted { logits[$0] > logits[$1] }
        if params.topK > 0 { order = Array(order.prefix(params.topK)) }
        let maxLogit = logits[order[0]]
        var probs = order.map { expf((logits[$0] - maxLogit) / t) }
        let total = probs.reduce(0, +)
        probs = probs.map { $0 / total }
        var keep = probs.count
        if params.topP < 1 {
            var cumulative: Float = 0
            for (i, p) in probs.enumerated() {
                cumulative += p
                if cumulative >= Float(params.topP) { keep = i + 1; break }
            }
        }
        if params.minP > 0 {
            let threshold = Float(params.minP) * probs[0]
            keep = min(keep, probs.prefix { $0 >= threshold }.count)
        }
        let kept = probs.prefix(keep)
        var r = Float(Double(rng.next() >> 11) / Double(1 << 53)) * kept.reduce(0, +)
        for (i, p) in kept.enumerated() {
            r -= p
            if r <= 0 { return Int32(order[i]) }
        }
        return Int32(order[keep - 1])
    }

    static func argmax(_ logits: [Float]) -> Int32 {
        var best = 0
        for i in logits.indices where logits[i] > logits[best] { best = i }
        return Int32(best)
    }
}
