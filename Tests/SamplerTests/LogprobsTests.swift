import Engine
import Foundation
import Testing

/// Logprobs (vLLM's default raw_logprobs mode), ranks, prompt logprobs, and the cost of one row.
struct LogprobsTests {
    func randomLogits(_ n: Int, seed: UInt64) -> [Float] {
        var rng = SplitMix64(seed: seed)
        return (0..<n).map { _ in Float(rng.nextUnit() * 20 - 10) }
    }

    @Test func wholeVocabularyLogprobsAreNormalized() {
        let logits = randomLogits(1000, seed: 3)
        let r = Sampler.logprobs(row: logits, token: 17, top: logits.count)
        #expect(r.topLogprobs.count == 1000)
        let total = r.topLogprobs.reduce(0.0) { $0 + exp(Double($1.logprob)) }
        #expect(abs(total - 1) < 1e-5)
        #expect(zip(r.topLogprobs, r.topLogprobs.dropFirst()).allSatisfy { $0.logprob >= $1.logprob })
        #expect(Set(r.topLogprobs.map(\.id)).count == 1000)
        // The token's own entry agrees with its logprob and its rank.
        #expect(r.topLogprobs[r.rank - 1].id == 17)
        #expect(r.topLogprobs[r.rank - 1].logprob == r.logprob)
    }

    @Test func sampleWithLogprobsMinusOneReturnsWholeVocabulary() {
        var rng = SplitMix64(seed: 1)
        let logits = randomLogits(64, seed: 4)
        let r = Sampler.sample(logits: logits, params: SamplingParams(logprobs: -1), promptTokenIds: [], outputTokenIds: [], rng: &rng)
        #expect(r.topLogprobs.count == 64)
    }

    @Test func rankIsOneBasedAndCountsTies() {
        let row: [Float] = [1, 3, 2, 3]
        #expect(Sampler.logprobs(row: row, token: 1, top: 0).rank == 2)   // ties: count of ≥
        #expect(Sampler.logprobs(row: row, token: 2, top: 0).rank == 3)
        #expect(Sampler.logprobs(row: row, token: 0, top: 0).rank == 4)
        let top = Sampler.logprobs(row: row, token: 0, top: 2).topLogprobs
        #expect(top.map(\.id) == [1, 3])
        let lse = log(exp(1.0) + 2 * exp(3.0) + exp(2.0))
        #expect(abs(Double(top[0].logprob) - (3 - lse)) < 1e-6)
    }

    @Test func logprobsAreRawBeforeProcessing() {
        // vLLM v1 default logprobs_mode = raw_logprobs: bias, penalties and temperature do not
        // change the reported logprobs, even for the token they forced.
        var rng = SplitMix64(seed: 1)
        let logits: [Float] = [2, 1, 0]
        let params = SamplingParams(temperature: 0.5, logprobs: 1, logitBias: [2: 100])
        let r = Sampler.sample(logits: logits, params: params, promptTokenIds: [], outputTokenIds: [], rng: &rng)
        #expect(r.token == 2)
        #expect(r.rank == 3)
        let lse = log(exp(2.0) + exp(1.0) + 1)
        #expect(abs(Double(r.logprob) - (0 - lse)) < 1e-6)
        #expect(r.topLogprobs.map(\.id) == [0])
    }

    @Test func noLogprobsRequestedMeansNone() {
        var rng = SplitMix64(seed: 1)
        let r = Sampler.sample(logits: [0, 1], params: SamplingParams(), promptTokenIds: [], outputTokenIds: [], rng: &rng)
        #expect(r.logprob.isNaN && r.rank == 0 && r.topLogprobs.isEmpty)
        let zero = Sampler.sample(logits: [0, 1], params: SamplingParams(temperature: 0, logprobs: 0),
                                  promptTokenIds: [], outputTokenIds: [], rng: &rng)
        #expect(zero.token == 1 && zero.rank == 1 && zero.topLogprobs.isEmpty)
        #expect(abs(Double(zero.logprob) - (1 - log(1 + exp(1.0)))) < 1e-6)
    }

    @Test func promptLogprobsStartWithNil() {
        let rows: [[Float]] = [[0, 2, 1], [3, 0, 0], [1, 1, 1]]
        let out = Sampler.promptLogprobs(rows: rows, promptTokenIds: [2, 1, 0], top: 1)
        #expect(out.count == 3)
        #expect(out[0] == nil)
        #expect(out[1]?.token == 1 && out[1]?.rank == 1)
        #expect(out[2]?.token == 0 && out[2]?.rank == 1)
        #expect(out[1]?.topLogprobs.map(\.id) == [1])
        let lse = log(exp(0.0) + exp(2.0) + exp(1.0))
        #expect(abs(Double(out[1]!.logprob) - (2 - lse)) < 1e-6)
        #expect(Sampler.promptLogprobs(rows: [], promptTokenIds: [5], top: 3).count == 1)
    }

    /// Not a benchmark: prints what one Qwen-sized row costs, so a regression is visible.
    @Test func timingOfOneQwenRow() {
        let logits = randomLogits(151936, seed: 9)
        let history = SamplingHistory(prompt: (0..<2000).map { Int32($0 * 7) }, output: (0..<500).map { Int32($0 * 13) })
        let cases: [(String, SamplingParams)] = [
            ("greedy", SamplingParams(temperature: 0)),
            ("temperature only", SamplingParams(temperature: 0.8)),
            ("top-k 20 top-p 0.95 (Qwen3)", SamplingParams(temperature: 0.6, topP: 0.95, topK: 20)),
            ("top-p 0.95 full vocab", SamplingParams(temperature: 1, topP: 0.95)),
            ("min-p 0.05", SamplingParams(minP: 0.05)),
            ("penalties + top-p", SamplingParams(topP: 0.9, presencePenalty: 0.5, frequencyPenalty: 0.5, repetitionPenalty: 1.1)),
            ("top-p 0.9 + logprobs 20", SamplingParams(topP: 0.9, logprobs: 20)),
        ]
        // Baseline: one plain expf pass over the row, to read the figures against on a busy machine.
        var sink: Float = 0
        let baseline = ContinuousClock().measure {
            for _ in 0..<20 { logits.withUnsafeBufferPointer { for v in $0 { sink += expf(v - 10) } } }
        }
        print("sampler, 151936-token row, baseline one expf pass: \(baseline / 20) (\(sink > 0))")
        for (name, params) in cases {
            var rng = SplitMix64(seed: 1)
            _ = Sampler.sample(logits: logits, params: params, history: history, rng: &rng)
            let iterations = 20
            let clock = ContinuousClock()
            let elapsed = clock.measure {
                for _ in 0..<iterations { _ = Sampler.sample(logits: logits, params: params, history: history, rng: &rng) }
            }
            let ms = Double(elapsed.components.attoseconds) / 1e15 + Double(elapsed.components.seconds) * 1e3
            print(String(format: "sampler, 151936-token row, %@: %.3f ms", name, ms / Double(iterations)))
        }
    }
}
