import CUDABackend
import Engine
import Foundation
import Tensors

/// The device sampler against the host `Sampler` on the same logits and the same per-request
/// random streams: every draw must pick the same token (the device finds the same thresholds and
/// walks the same cumulative sum; only float summation order differs, which moves a boundary by
/// about 1e-16 of the mass), and logprobs must agree within 1e-4 (GPU `expf` is within 2 ulp and
/// sums in another order, about 1e-6 at these magnitudes; a wrong row or token is off by >0.1).
extension GPUCheck {
    static func samplingCases() -> [(name: String, params: SamplingParams, history: SamplingHistory, badWords: [[Int32]])] {
        let history = SamplingHistory(prompt: [3, 5, 7, 11, 13, 5, 900], output: [17, 19, 19, 23, 40])
        return [
            ("greedy", SamplingParams(temperature: 0), history, []),
            ("temperature 1", SamplingParams(temperature: 1), history, []),
            ("T 0.7, top-p 0.9", SamplingParams(temperature: 0.7, topP: 0.9), history, []),
            // Top-p alone: a nucleus inside the ~256 heaviest tokens (the device's short list).
            ("T 0.3, top-p 0.95", SamplingParams(temperature: 0.3, topP: 0.95), history, []),
            ("T 0.5, top-p 0.8, min-p 0.001", SamplingParams(temperature: 0.5, topP: 0.8, minP: 0.001), history, []),
            ("T 0.8, top-k 50", SamplingParams(temperature: 0.8, topK: 50), history, []),
            ("T 1.2, min-p 0.05", SamplingParams(temperature: 1.2, minP: 0.05), history, []),
            ("T 0.6, top-k 20, top-p 0.95, min-p 0.02",
             SamplingParams(temperature: 0.6, topP: 0.95, topK: 20, minP: 0.02), history, []),
            ("top-k 1", SamplingParams(temperature: 1, topK: 1), history, []),
            // Top-k over 512 or more tokens than the device's shared-memory list holds (1,024): the
            // whole-row route.
            ("top-k 2000, top-p 0.8", SamplingParams(temperature: 1, topP: 0.8, topK: 2000), history, []),
            ("min-p 1e-4", SamplingParams(temperature: 1, minP: 1e-4), history, []),
            ("top-k 500, top-p 0.9", SamplingParams(temperature: 1, topP: 0.9, topK: 500), history, []),
            ("allowed ids, top-k 3", SamplingParams(temperature: 1, topK: 3, allowedTokenIds: [10, 20, 30, 40]), history, []),
            ("top-p 1e-6", SamplingParams(temperature: 1, topP: 1e-6), history, []),
            ("penalties", SamplingParams(temperature: 0.9, presencePenalty: 0.3, frequencyPenalty: 0.5,
                                         repetitionPenalty: 1.3), history, []),
            ("greedy, penalties", SamplingParams(temperature: 0, presencePenalty: 2, frequencyPenalty: 1,
                                                 repetitionPenalty: 2), history, []),
            ("logit bias", SamplingParams(temperature: 0, logitBias: [5: 100, 7: -100]), history, []),
            ("allowed ids", SamplingParams(temperature: 1, allowedTokenIds: [10, 20, 30, 40]), history, []),
            ("bad words, min tokens", SamplingParams(temperature: 1, minTokens: 10, stopTokenIds: [2]),
             history, [[23, 40, 7], [40, 8], [9]]),
            ("logprobs 5", SamplingParams(temperature: 1, logprobs: 5), history, []),
            ("greedy, logprobs 20, penalty", SamplingParams(temperature: 0, repetitionPenalty: 1.5, logprobs: 20), history, []),
            ("top-p 0.5, logprobs 0", SamplingParams(temperature: 1, topP: 0.5, logprobs: 0), history, []),
        ]
    }

    /// Returns failure messages (empty when all agree).
    func checkSampling(_ gpu: CUDABackend) throws -> [String] {
        let vocab = 151_936, draws = 8
        var gen = SplitMix64(seed: 7)
        func normal() -> Float {
            let u = max(gen.nextUnit(), 1e-300), v = gen.nextUnit()
            return Float((-2 * log(u)).squareRoot() * cos(2 * Double.pi * v))
        }
        var logits: [[Float]] = [], params: [SamplingParams] = [], histories: [SamplingHistory] = []
        var badWords: [[[Int32]]] = [], rngs: [SplitMix64] = [], names: [String] = []
        for (c, item) in Self.samplingCases().enumerated() {
            for d in 0..<draws {
                // Peaked rows (a few likely tokens over a long tail) like a model's, with exact ties.
                var row = (0..<vocab).map { _ in 2.5 * normal() }
                for j in 0..<12 { row[(j * 7919 + d * 104_729) % vocab] = 9 + Float(j % 4) }
                logits.append(row)
                params.append(item.params)
                histories.append(item.history)
                badWords.append(item.badWords)
                rngs.append(SplitMix64(seed: UInt64(1000 * c + d)))
                names.append("\(item.name) #\(d)")
            }
        }
        // One all -inf row: both sides answer token 0.
        logits.append([Float](repeating: -.infinity, count: vocab))
        params.append(SamplingParams(temperature: 1))
        histories.append(SamplingHistory(prompt: [1]))
        badWords.append([])
        rngs.append(SplitMix64(seed: 1))
        names.append("all -inf")

        // All rows in one call, and in calls of three rows: few rows take the sliced draw (the
        // mass of rows without filters summed by many blocks, sample_mass_partial).
        var batchRngs = rngs
        let batched = try Sampler.sampleOnBackend(gpu, logits: logits, params: params, histories: histories,
                                                  badWordsTokenIds: badWords, eosTokenIds: [0], rngs: &batchRngs)
        var threes: [SampleResult?] = []
        for start in stride(from: 0, to: logits.count, by: 3) {
            let r = start ..< min(start + 3, logits.count)
            var groupRngs = Array(rngs[r])
            threes += try Sampler.sampleOnBackend(gpu, logits: Array(logits[r]), params: Array(params[r]),
                                                  histories: Array(histories[r]), badWordsTokenIds: Array(badWords[r]),
                                                  eosTokenIds: [0], rngs: &groupRngs)
        }
        var hostRngs = rngs
        var failures: [String] = []
        var worstLogprob: Float = 0
        for i in logits.indices {
            let host = Sampler.sample(logits: logits[i], params: params[i], history: histories[i],
                                      badWordsTokenIds: badWords[i], eosTokenIds: [0], rng: &hostRngs[i])
            for (grouping, onDevice) in [("batched", batched), ("in threes", threes)] {
                guard let dev = onDevice[i] else { failures.append("\(names[i]) (\(grouping)): left to the host"); continue }
                var same = dev.token == host.token && dev.rank == host.rank
                    && dev.topLogprobs.map(\.id) == host.topLogprobs.map(\.id)
                if !host.logprob.isNaN || !dev.logprob.isNaN {
                    let deltas = [abs(dev.logprob - host.logprob)]
                        + zip(dev.topLogprobs, host.topLogprobs).map { abs($0.logprob - $1.logprob) }
                    let d = deltas.max() ?? 0
                    worstLogprob = max(worstLogprob, d.isNaN ? .infinity : d)
                    same = same && d <= 1e-4
                }
                if !same { failures.append("\(names[i]) (\(grouping)): device \(dev) vs host \(host)") }
            }
        }
        report(String(format: "  %d rows, batched and in threes: %d differ from the host sampler; worst logprob |Δ| %.2e",
                     logits.count, failures.count, worstLogprob))

        // Cost of the draws a decode step pays: 256 rows and 1 row, filtered (top-k 50, top-p 0.9;
        // Qwen3's generation_config: top-k 20, top-p 0.95) or not. Each call includes its upload,
        // the download and the wait.
        let batch = (0..<256).map { logits[$0 % (logits.count - 1)] }, tensor = try gpu.upload(.f32(batch.flatMap { $0 }, shape: [batch.count, vocab]))
        for (count, temperature, topK, topP) in [(256, 0.7, 50, 0.9), (256, 0.6, 0, 0.9), (256, 1.0, 0, 1.0),
                                                    (1, 0.7, 50, 0.9), (1, 0.6, 20, 0.95), (1, 0.6, 0, 0.9), (1, 1.0, 0, 1.0)] {
            let row = RowSampling(row: 0, invTemperature: Float(1 / temperature), topK: Int32(topK), topP: topP, uniform: 0.5)
            let rows = (0..<count).map { i -> RowSampling in var r = row; r.row = Int32(i); return r }
            _ = try gpu.sample(tensor, rows: rows, edits: [])
            let start = DispatchTime.now().uptimeNanoseconds
            for _ in 0..<20 { _ = try gpu.sample(tensor, rows: rows, edits: []) }
            let ms = Double(DispatchTime.now().uptimeNanoseconds - start) / 20 / 1e6
            report(String(format: "  sampling %d row%@ of %d (T %.1f, top-k %d, top-p %.2f): %.3f ms a step",
                          count, count == 1 ? "" : "s", vocab, temperature, topK, topP, ms))
        }
        return failures
    }
}
