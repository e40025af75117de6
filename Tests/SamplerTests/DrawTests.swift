import Engine
import Foundation
import Testing

/// Seeded draws: reproducible, and distributed as the filtered softmax says.
struct DrawTests {
    let probs = [0.4, 0.25, 0.2, 0.1, 0.05]
    var logits: [Float] { probs.map { Float(log($0)) } }

    func draws(_ params: SamplingParams, count: Int = 20000, seed: UInt64 = 1234) -> [Int] {
        var rng = SplitMix64(seed: seed)
        var counts = [Int](repeating: 0, count: probs.count)
        for _ in 0..<count {
            let r = Sampler.sample(logits: logits, params: params, promptTokenIds: [], outputTokenIds: [], rng: &rng)
            counts[Int(r.token)] += 1
        }
        return counts
    }

    /// Pearson's χ² against `expected` probabilities. Tokens with probability 0 must never be drawn.
    /// Bound: 18.47 is the 0.999 quantile of χ² with 4 degrees of freedom (fewer for fewer
    /// tokens, so the bound is looser there); draws are seeded, so the test is deterministic.
    func expectDistribution(_ counts: [Int], _ expected: [Double], sourceLocation: SourceLocation = #_sourceLocation) {
        let n = Double(counts.reduce(0, +))
        var chi2 = 0.0
        for (c, p) in zip(counts, expected) {
            if p == 0 {
                #expect(c == 0, "a filtered token was drawn", sourceLocation: sourceLocation)
            } else {
                chi2 += pow(Double(c) - n * p, 2) / (n * p)
            }
        }
        #expect(chi2 < 18.47, "χ² = \(chi2), counts \(counts)", sourceLocation: sourceLocation)
    }

    func normalized(_ w: [Double]) -> [Double] { let s = w.reduce(0, +); return w.map { $0 / s } }

    @Test func plainSampling() { expectDistribution(draws(SamplingParams()), probs) }

    @Test func temperature() {
        expectDistribution(draws(SamplingParams(temperature: 2)), normalized(probs.map { pow($0, 0.5) }))
        expectDistribution(draws(SamplingParams(temperature: 0.5)), normalized(probs.map { $0 * $0 }))
    }

    @Test func topK() { expectDistribution(draws(SamplingParams(topK: 3)), normalized([0.4, 0.25, 0.2, 0, 0])) }

    @Test func topP() {
        // Exclusive prefixes 0, 0.4, 0.65: top_p 0.6 keeps two tokens.
        expectDistribution(draws(SamplingParams(topP: 0.6)), normalized([0.4, 0.25, 0, 0, 0]))
    }

    @Test func minP() {
        // Threshold 0.4 × 0.4 = 0.16.
        expectDistribution(draws(SamplingParams(minP: 0.4)), normalized([0.4, 0.25, 0.2, 0, 0]))
    }

    @Test func topKOneIsGreedy() {
        #expect(draws(SamplingParams(topK: 1), count: 500) == [500, 0, 0, 0, 0])
        #expect(draws(SamplingParams(temperature: 0), count: 500) == [500, 0, 0, 0, 0])
    }

    @Test func seededSamplingIsReproducible() {
        func sequence(_ seed: UInt64) -> [Int32] {
            var rng = SplitMix64(seed: seed)
            var history = SamplingHistory(prompt: [Int32]([1, 2]))
            var out: [Int32] = []
            for _ in 0..<200 {
                let r = Sampler.sample(logits: logits, params: SamplingParams(temperature: 0.9, topP: 0.95, repetitionPenalty: 1.1),
                                       history: history, rng: &rng)
                history.append(r.token)
                out.append(r.token)
            }
            return out
        }
        #expect(sequence(7) == sequence(7))
        #expect(sequence(7) != sequence(8))
    }
}
