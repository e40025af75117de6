import Foundation

/// One row after temperature, min-p, top-k and top-p, as weights and one threshold: a token
/// survives iff `weights[i] >= threshold` and `weights[i] > 0`.
///
/// All four filters keep the tokens above some value, so filtering is finding that value without
/// sorting the vocabulary: min-p is a logit threshold, top-k a quickselect, and top-p groups the
/// weights by binary exponent and sorts only the group where the cumulative mass crosses `topP`.
/// Tokens tied with the last one top-p keeps are kept too (vLLM's unstable sort decides them
/// arbitrarily).
struct Filtered {
    /// exp((l - max) / T) for tokens that pass min-p and top-k, else 0.
    var weights: [Float]
    var threshold: Float

    init(_ processed: [Float], params: SamplingParams) {
        let invT = Float(1 / max(params.effectiveTemperature, 1e-2))
        let maxLogit = processed.withUnsafeBufferPointer { p in
            var m = -Float.infinity
            for v in p where v > m { m = v }
            return m
        }
        threshold = .leastNonzeroMagnitude
        guard maxLogit > -.infinity else {
            weights = [Float](repeating: 0, count: processed.count)
            if !weights.isEmpty { weights[0] = 1 }
            return
        }
        // min-p and top-k both keep the maximum: one logit threshold.
        var logitThreshold = -Float.infinity
        if params.minP > 0 { logitThreshold = maxLogit + Float(log(params.minP)) / invT }
        if let k = params.effectiveTopK, k < processed.count {
            logitThreshold = max(logitThreshold, Selection.kthLargest(processed, k))
        }
        weights = [Float](unsafeUninitializedCapacity: processed.count) { w, count in
            processed.withUnsafeBufferPointer { p in
                for i in 0..<p.count {
                    let v = p[i]
                    w[i] = v >= logitThreshold && v > -.infinity ? expf((v - maxLogit) * invT) : 0
                }
            }
            count = processed.count
        }
        let total = weights.withUnsafeBufferPointer { fastSum($0) }
        if params.topP < 1 { threshold = max(threshold, Self.nucleusThreshold(weights, total: total, topP: params.topP)) }
    }

    /// vLLM's top-p rule: keep a token iff the mass of strictly more likely tokens is below `topP`
    /// of the total (so the most likely token always stays). Returns the smallest kept weight.
    static func nucleusThreshold(_ weights: [Float], total: Double, topP: Double) -> Float {
        let target = topP * total
        // Weights are in [0, 1]; the biased exponent orders them in groups of a factor of two.
        let buckets = 256
        var mass = [Double](repeating: 0, count: buckets)
        weights.withUnsafeBufferPointer { w in
            for v in w where v > 0 { mass[Int(v.bitPattern >> 23)] += Double(v) }
        }
        var before = 0.0
        var crossing = 0
        for b in stride(from: buckets - 1, through: 0, by: -1) where mass[b] > 0 {
            crossing = b
            if before + mass[b] >= target { break }
            before += mass[b]
        }
        var group: [Float] = []
        weights.withUnsafeBufferPointer { w in
            for v in w where v > 0 && Int(v.bitPattern >> 23) == crossing { group.append(v) }
        }
        group.sort(by: >)
        var cumulative = before
        var last = group.first ?? 0
        for v in group {
            if cumulative >= target, cumulative > before { break }
            last = v
            cumulative += Double(v)
        }
        return last
    }
}
