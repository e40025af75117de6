import Engine
import Foundation
import Tensors

/// The least time a run's steps could take on this device: each step is bound either by its
/// FLOPs at the measured matmul rate (2 per matrix weight a token uses, 4 per head dimension of
/// every query-key pair for q·k and p·v) or by the bytes it must read at the measured copy
/// bandwidth (the weights once, each decoding row's K/V up to its position), whichever is longer.
/// A decode step is bound by bytes and a prefill chunk by FLOPs; summing per step, rather than
/// taking the run's FLOPs alone, is what keeps the decode half from looking free.
struct WorkloadFloor {
    let loaded: LoadedModel
    /// 2 FLOPs per matrix weight a token uses (the FLOP ceiling's measure).
    let matmulFlopsPerToken: Double
    let kvBytesPerKey: Double
    let rate: Double, bandwidth: Double

    init(loaded: LoadedModel, kvBytesPerKey: Int, rate: Double, bandwidth: Double) {
        self.loaded = loaded
        matmulFlopsPerToken = 2 * loaded.matmulWeightBytesPerToken / Double(DType.bf16.byteCount(elements: 1))
        self.kvBytesPerKey = Double(kvBytesPerKey)
        self.rate = rate
        self.bandwidth = bandwidth
    }

    func seconds(_ w: StepWork) -> Double {
        let c = loaded.model.config
        let tokens = w.decodeRows + w.prefillTokens
        let matmul = matmulFlopsPerToken * Double(tokens)
        let attention = 4 * Double(c.numHiddenLayers * c.numAttentionHeads * c.headDim) * Double(w.decodeKeys + w.prefillKeys)
        let bytes = loaded.weightBytesPerStep(batch: tokens) + kvBytesPerKey * Double(w.decodeKeys)
        return max((matmul + attention) / rate, bytes / bandwidth)
    }

    func seconds(_ steps: [StepWork]) -> Double { steps.reduce(0) { $0 + seconds($1) } }

    /// The run against its floor, then the steps with prefill tokens and the decode-only ones apart.
    func report(_ work: [StepWork]) -> [String] {
        func line(_ name: String, _ steps: [StepWork]) -> String {
            let took = steps.reduce(0) { $0 + $1.seconds }, floor = seconds(steps)
            let rows = Double(steps.reduce(0) { $0 + $1.decodeRows }) / Double(max(steps.count, 1))
            return String(format: "%@%d steps took %.1f s against %.1f s (%.0f%%), %.0f decoding rows a step",
                          name, steps.count, took, floor, took > 0 ? floor / took * 100 : 0, rows)
        }
        return [
            String(format: "workload floor: per step the longer of FLOPs at %.0f TFLOP/s and bytes at %.0f GB/s:",
                   rate / 1e12, bandwidth / 1e9),
            line("         all: ", work),
            line("         with prefill tokens: ", work.filter { $0.prefillTokens > 0 }),
            line("         decode only: ", work.filter { $0.prefillTokens == 0 }),
        ]
    }
}
