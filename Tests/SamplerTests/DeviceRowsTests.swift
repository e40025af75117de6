import Engine
import Foundation
import Tensors
import Testing

/// The rows the engine hands a device sampler: their logit edits must turn raw logits into
/// exactly (bit for bit) what the host sampler processes, and they must take the request's random
/// draw exactly when the host sampler would.
struct DeviceRowsTests {
    func row(_ params: SamplingParams, history: SamplingHistory, badWords: [[Int32]] = [], eos: Set<Int32> = [],
             vocab: Int, rng: inout SplitMix64) -> (RowSampling?, [LogitEdit]) {
        var edits: [LogitEdit] = []
        let spec = Sampler.deviceRow(0, sample: 0, params: params, history: history, badWordsTokenIds: badWords,
                                     eosTokenIds: eos, vocab: vocab, rng: &rng, edits: &edits)
        return (spec, edits)
    }

    @Test func editsReproduceProcessedLogits() {
        var gen = SplitMix64(seed: 42)
        let vocab = 64
        for trial in 0..<300 {
            let logits = (0..<vocab).map { _ in Float(gen.nextUnit() * 8 - 4) }
            let prompt = (0..<Int(gen.next() % 12)).map { _ in Int32(gen.next() % UInt64(vocab)) }
            let output = (0..<Int(gen.next() % 12)).map { _ in Int32(gen.next() % UInt64(vocab)) }
            func pick<T>(_ options: [T]) -> T { options[Int(gen.next() % UInt64(options.count))] }
            let params = SamplingParams(
                temperature: pick([0, 0.7, 1]), minTokens: pick([0, 5, 20]), stopTokenIds: pick([[], [3, 70]]),
                presencePenalty: pick([0, 0.4, -0.5]), frequencyPenalty: pick([0, 0.3, 1.5]),
                repetitionPenalty: pick([1, 1.3, 0.8]),
                logitBias: pick([[:], [1: 5, 2: -250, 63: 0.25, -1: 3]]),
                allowedTokenIds: pick([nil, [1, 2, 5, 9, 33, 99]]))
            let badWords: [[Int32]] = pick([[], [[7], [output.last ?? 0, 11], [4, 5, 6]]])
            let history = SamplingHistory(prompt: prompt, output: output)
            let eos: Set<Int32> = [0, 63]
            var rng = SplitMix64(seed: 1)
            let (spec, edits) = row(params, history: history, badWords: badWords, eos: eos, vocab: vocab, rng: &rng)
            let expected = Sampler.processLogits(logits, params: params, history: history, badWordsTokenIds: badWords,
                                                 eosTokenIds: eos)
            let edited = LogitEdit.apply(edits, sample: 0, restricted: spec!.restricted, to: logits)
            #expect(edited.map(\.bitPattern) == expected.map(\.bitPattern), "trial \(trial): \(params)")
            #expect(Set(edits.map(\.token)).count == edits.count, "one edit per token")
        }
    }

    @Test func theDrawIsTakenOnlyWhenNotGreedy() {
        let history = SamplingHistory(prompt: [1, 2])
        var rng = SplitMix64(seed: 9), copy = rng
        let (greedy, _) = row(SamplingParams(temperature: 0), history: history, vocab: 10, rng: &rng)
        #expect(greedy?.invTemperature == 0)
        #expect(rng.next() == copy.next(), "greedy rows leave the stream alone")

        rng = SplitMix64(seed: 9)
        copy = rng
        let (hot, _) = row(SamplingParams(temperature: 0.5, topP: 0.9, topK: 4, minP: 0.1), history: history,
                           vocab: 10, rng: &rng)
        #expect(hot?.uniform == copy.nextUnit())
        #expect(hot?.invTemperature == 2)
        #expect(hot?.topK == 4)
        #expect(hot?.topP == 0.9)
        #expect(hot?.logMinP == Float(log(0.1)))
        let (wide, _) = row(SamplingParams(temperature: 1, topK: 10), history: history, vocab: 10, rng: &rng)
        #expect(wide?.topK == 0, "top-k of the whole vocabulary is off")
    }

    @Test func rowsWithMoreLogprobsThanADeviceReturnsStayOnTheHost() {
        let history = SamplingHistory(prompt: [1])
        var rng = SplitMix64(seed: 3)
        #expect(row(SamplingParams(logprobs: 20), history: history, vocab: 100, rng: &rng).0?.logprobs == 20)
        #expect(row(SamplingParams(logprobs: 21), history: history, vocab: 100, rng: &rng).0 == nil)
        #expect(row(SamplingParams(logprobs: -1), history: history, vocab: 100, rng: &rng).0 == nil)
        #expect(row(SamplingParams(), history: history, vocab: 100, rng: &rng).0?.logprobs == -1)
    }
}
