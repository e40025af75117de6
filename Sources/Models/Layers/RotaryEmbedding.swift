import Foundation
import Tensors

/// Builds the cos/sin tables of rotary position embeddings, with the scaling variants of
/// transformers' `ROPE_INIT_FUNCTIONS` (default, linear, llama3, yarn).
public enum RotaryEmbedding {
    /// Inverse frequencies [rotaryDim / 2] and the attention factor that scales cos and sin.
    public static func inverseFrequencies(rotaryDim: Int, theta: Double, scaling: RopeScaling,
                                          maxPositionEmbeddings: Int) -> (invFreq: [Double], attentionFactor: Double) {
        let half = rotaryDim / 2
        let base = (0..<half).map { 1.0 / pow(theta, Double(2 * $0) / Double(rotaryDim)) }
        switch scaling {
        case .none:
            return (base, 1)
        case .linear(let factor):
            return (base.map { $0 / factor }, 1)
        case .llama3(let factor, let lowFreqFactor, let highFreqFactor, let originalMax):
            let lowFreqWavelen = Double(originalMax) / lowFreqFactor
            let highFreqWavelen = Double(originalMax) / highFreqFactor
            let freqs = base.map { f -> Double in
                let wavelen = 2 * Double.pi / f
                if wavelen < highFreqWavelen { return f }
                if wavelen > lowFreqWavelen { return f / factor }
                let smooth = (Double(originalMax) / wavelen - lowFreqFactor) / (highFreqFactor - lowFreqFactor)
                return (1 - smooth) * f / factor + smooth * f
            }
            return (freqs, 1)
        case .yarn(let factor, let originalMax, let betaFast, let betaSlow, let mscale, let mscaleAllDim):
            func yarnMscale(_ scale: Double, _ m: Double) -> Double { scale <= 1 ? 1 : 0.1 * m * log(scale) + 1 }
            let attentionFactor = (mscale != 0 && mscaleAllDim != 0)
                ? yarnMscale(factor, mscale) / yarnMscale(factor, mscaleAllDim) : yarnMscale(factor, 1)
            func correctionDim(_ rotations: Double) -> Double {
                Double(rotaryDim) * log(Double(originalMax) / (rotations * 2 * Double.pi)) / (2 * log(theta))
            }
            let low = max(floor(correctionDim(betaFast)), 0)
            var high = min(ceil(correctionDim(betaSlow)), Double(rotaryDim - 1))
            if low == high { high += 0.001 }
            let freqs = (0..<half).map { i -> Double in
                let ramp = min(max((Double(i) - low) / (high - low), 0), 1)
                let extrapolationWeight = 1 - ramp
                return base[i] / factor * (1 - extrapolationWeight) + base[i] * extrapolationWeight
            }
            return (freqs, attentionFactor)
        }
    }

    /// cos/sin tables for positions 0..<maxPositions, uploaded to `backend`.
    public static func table(config: ModelConfig, maxPositions: Int, neoxStyle: Bool = true,
                             backend: any Backend) throws -> RotaryTable {
        var rotaryDim = Int(Double(config.headDim) * config.partialRotaryFactor)
        rotaryDim -= rotaryDim % 2
        let (invFreq, attentionFactor) = inverseFrequencies(
            rotaryDim: rotaryDim, theta: config.ropeTheta, scaling: config.ropeScaling,
            maxPositionEmbeddings: config.maxPositionEmbeddings)
        let half = rotaryDim / 2
        var cos = [Float](repeating: 0, count: maxPositions * half)
        var sin = cos
        for p in 0..<maxPositions {
            for i in 0..<half {
                // Angles in float32 like transformers (position * inv_freq computed in float32).
                let angle = Float(p) * Float(invFreq[i])
                cos[p * half + i] = Float(Foundation.cos(Double(angle)) * attentionFactor)
                sin[p * half + i] = Float(Foundation.sin(Double(angle)) * attentionFactor)
            }
        }
        return RotaryTable(cos: try backend.upload(.f32(cos, shape: [maxPositions, half])),
                           sin: try backend.upload(.f32(sin, shape: [maxPositions, half])),
                           rotaryDim: rotaryDim, neoxStyle: neoxStyle)
    }
}
