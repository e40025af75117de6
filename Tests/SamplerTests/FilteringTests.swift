import Engine
import Foundation
import Testing

/// Temperature, min-p, top-k and top-p: which tokens survive, at and around their boundaries.
struct FilteringTests {
    func kept(_ logits: [Float], _ params: SamplingParams) -> Set<Int32> {
        Set(Sampler.candidates(logits, params: params).map(\.id))
    }

    /// Logits whose softmax is exactly `probs`.
    func logits(_ probs: [Double]) -> [Float] { probs.map { Float(log($0)) } }

    @Test func topK() {
        #expect(kept([1, 3, 2, 0], SamplingParams(topK: 2)) == [1, 2])
        #expect(kept([1, 3, 2, 0], SamplingParams(topK: 1)) == [1])
        #expect(kept([1, 3, 2, 0], SamplingParams(topK: 4)) == [0, 1, 2, 3])
        #expect(kept([1, 3, 2, 0], SamplingParams(topK: 100)) == [0, 1, 2, 3])
        #expect(kept([1, 3, 2, 0], SamplingParams(topK: 0)) == [0, 1, 2, 3])
        #expect(kept([1, 3, 2, 0], SamplingParams(topK: -1)) == [0, 1, 2, 3])
        // Ties with the k-th value stay, as in vLLM (mask is logits < k-th value).
        #expect(kept([1, 3, 3, 0], SamplingParams(topK: 1)) == [1, 2])
        // Masked tokens never come back.
        #expect(kept([1, -.infinity, -.infinity, 0], SamplingParams(topK: 3)) == [0, 3])
    }

    @Test func topPBoundaries() {
        // Exclusive prefix masses 0, 0.5, 0.75, 0.9.
        let l = logits([0.5, 0.25, 0.15, 0.10])
        #expect(kept(l, SamplingParams(topP: 0.49)) == [0])
        #expect(kept(l, SamplingParams(topP: 0.51)) == [0, 1])
        #expect(kept(l, SamplingParams(topP: 0.74)) == [0, 1])
        #expect(kept(l, SamplingParams(topP: 0.76)) == [0, 1, 2])
        #expect(kept(l, SamplingParams(topP: 0.89)) == [0, 1, 2])
        #expect(kept(l, SamplingParams(topP: 0.91)) == [0, 1, 2, 3])
        #expect(kept(l, SamplingParams(topP: 1)) == [0, 1, 2, 3])
        // The most likely token always survives.
        #expect(kept(l, SamplingParams(topP: 1e-6)) == [0])
        // Temperature first: at T = 0.5 the probabilities are ∝ p², [0.725, 0.181, 0.065, 0.029].
        #expect(kept(l, SamplingParams(temperature: 0.5, topP: 0.75)) == [0, 1])
        #expect(kept(l, SamplingParams(temperature: 0.5, topP: 0.70)) == [0])
        // A token tied with the last one kept stays too.
        #expect(kept(logits([0.5, 0.25, 0.125, 0.125]), SamplingParams(topP: 0.76)) == [0, 1, 2, 3])
    }

    @Test func minPBoundaries() {
        let l = logits([0.5, 0.25, 0.125, 0.125])
        #expect(kept(l, SamplingParams(minP: 0.3)) == [0, 1])
        #expect(kept(l, SamplingParams(minP: 0.2)) == [0, 1, 2, 3])
        #expect(kept(l, SamplingParams(minP: 0.6)) == [0])
        #expect(kept(l, SamplingParams(minP: 1)) == [0])
        // After temperature 0.5 relative probabilities are [1, 0.25, 0.0625, 0.0625].
        #expect(kept(l, SamplingParams(temperature: 0.5, minP: 0.2)) == [0, 1])
    }

    @Test func minPAppliesBeforeTopP() {
        // min-p 0.3 keeps [0.4, 0.3, 0.2] → renormalized [0.44, 0.33, 0.22]; top-p 0.75 then keeps two.
        // (top-p first on the full distribution would keep three.)
        let l = logits([0.4, 0.3, 0.2, 0.1])
        #expect(kept(l, SamplingParams(topP: 0.75, minP: 0.3)) == [0, 1])
        #expect(kept(l, SamplingParams(topP: 0.75)) == [0, 1, 2])
        // top-k and top-p together: top-p over the top-k tokens' renormalized mass.
        // k = 2 renormalizes to [0.57, 0.43]: one token; k = 3 to [0.44, 0.33, 0.22]: two.
        #expect(kept(l, SamplingParams(topP: 0.55, topK: 2)) == [0])
        #expect(kept(l, SamplingParams(topP: 0.55, topK: 3)) == [0, 1])
    }

    /// Top-p on a large vocabulary (the bucketed path) equals sorting everything.
    @Test(arguments: [0.1, 0.5, 0.9, 0.95, 0.999])
    func topPLargeVocabularyMatchesFullSort(p: Double) {
        var rng = SplitMix64(seed: 42)
        let logits = (0..<20000).map { _ in Float(rng.nextUnit() * 12 - 6) }
        let got = kept(logits, SamplingParams(topP: p))
        let m = logits.max()!
        let weights = logits.map { Double(expf($0 - m)) }
        let total = weights.reduce(0, +)
        let order = logits.indices.sorted { logits[$0] > logits[$1] }
        var expected: Set<Int32> = []
        var before = 0.0
        for i in order {
            if !expected.isEmpty, before >= p * total { break }
            expected.insert(Int32(i))
            before += weights[i]
        }
        // Float rounding may move at most one token at the boundary.
        #expect(got.symmetricDifference(expected).count <= 1, "kept \(got.count), expected \(expected.count)")
        #expect(got.count > 0)
    }

    @Test func topKLargeVocabulary() {
        var rng = SplitMix64(seed: 7)
        let logits = (0..<151936).map { _ in Float(rng.nextUnit()) }
        let top = logits.indices.sorted { logits[$0] > logits[$1] }.prefix(50).map { Int32($0) }
        #expect(kept(logits, SamplingParams(topK: 50)) == Set(top))
    }
}
