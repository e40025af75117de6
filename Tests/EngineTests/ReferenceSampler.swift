import Foundation
import Tensors

/// The `Backend.sample` contract written plainly (sorting where the kernels select), independent of
/// Engine's `Sampler`: test backends that stand in for the GPU sample with it.
enum ReferenceSampler {
    static func sample(_ logits: [[Float]], rows: [RowSampling], edits: [LogitEdit]) -> [SampledToken] {
        rows.enumerated().map { i, spec in
            let raw = logits[Int(spec.row)]
            let l = LogitEdit.apply(edits, sample: Int32(i), restricted: spec.restricted, to: raw)
            let token = spec.invTemperature == 0 ? argmax(l) : draw(l, spec)
            guard spec.logprobs >= 0 else { return SampledToken(token: token) }
            let m = raw.max() ?? -.infinity
            let lse = m + Float(log(raw.reduce(0.0) { $0 + Double(expf($1 - m)) }))
            let value = raw[Int(token)]
            let order = raw.indices.sorted { raw[$0] > raw[$1] || (raw[$0] == raw[$1] && $0 < $1) }
            return SampledToken(token: token, logprob: value - lse, rank: max(1, raw.filter { $0 >= value }.count),
                                top: order.prefix(Int(spec.logprobs)).map { (Int32($0), raw[$0] - lse) })
        }
    }

    /// First index of the largest value; 0 when every value is -inf.
    static func argmax(_ l: [Float]) -> Int32 {
        var best = 0
        for i in l.indices where l[i] > l[best] { best = i }
        return Int32(best)
    }

    /// Temperature, min-p, top-k and top-p (vLLM's rules), then the first token in vocabulary order
    /// whose cumulative weight exceeds uniform × total.
    static func draw(_ l: [Float], _ spec: RowSampling) -> Int32 {
        let m = l.max() ?? -.infinity
        guard m > -.infinity else { return 0 }
        var threshold = -Float.infinity
        if spec.logMinP > -.infinity { threshold = m + spec.logMinP / spec.invTemperature }
        if spec.topK > 0 && Int(spec.topK) < l.count { threshold = max(threshold, l.sorted(by: >)[Int(spec.topK) - 1]) }
        var w = l.map { $0 >= threshold && $0 > -.infinity ? expf(($0 - m) * spec.invTemperature) : 0 }
        if spec.topP < 1 {
            // Keep a weight iff the mass of strictly larger weights is below topP of the total.
            let target = spec.topP * w.reduce(0.0) { $0 + Double($1) }
            let sorted = w.filter { $0 > 0 }.sorted(by: >)
            var before = 0.0, smallestKept = sorted.first ?? 0
            for (j, v) in sorted.enumerated() {
                if j > 0 && before >= target { break }
                if j == 0 || v < smallestKept { smallestKept = v }
                before += Double(v)
            }
            w = w.map { $0 >= smallestKept ? $0 : 0 }
        }
        let r = spec.uniform * w.reduce(0.0) { $0 + Double($1) }
        var cumulative = 0.0, last = 0
        for i in w.indices where w[i] > 0 {
            cumulative += Double(w[i])
            last = i
            if r < cumulative { return Int32(i) }
        }
        return Int32(last)
    }
}
