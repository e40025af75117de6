import Foundation

extension RopeScaling {
    /// Llama 3.x GGUFs carry no rope-scaling metadata: llama.cpp's converter bakes the llama3 scaling
    /// into a `rope_freqs.weight` tensor of per-frequency wavelength factors (1 for high frequencies,
    /// `factor` for low ones, smoothed between). This recognises those factors as the llama3 scaling
    /// every Llama 3.1–3.3 release uses (low 1, high 4, original context 8192, factor = the largest
    /// value), checking each one; nil when they are something else.
    static func llama3(fromFrequencyFactors factors: [Float], ropeTheta: Double) -> RopeScaling? {
        guard let factor = factors.max().map(Double.init), factor > 1 else { return nil }
        let dims = factors.count * 2
        let (low, high, original) = (1.0, 4.0, 8192)
        let lowWavelength = Double(original) / low
        let highWavelength = Double(original) / high
        for (i, stored) in factors.enumerated() {
            let frequency = 1 / pow(ropeTheta, Double(2 * i) / Double(dims))
            let wavelength = 2 * Double.pi / frequency
            let expected: Double
            if wavelength < highWavelength {
                expected = 1
            } else if wavelength > lowWavelength {
                expected = factor
            } else {
                let smooth = (Double(original) / wavelength - low) / (high - low)
                expected = 1 / ((1 - smooth) / factor + smooth)
            }
            guard abs(expected - Double(stored)) <= 1e-3 * expected else { return nil }
        }
        return .llama3(factor: factor, lowFreqFactor: low, highFreqFactor: high, originalMaxPositions: original)
    }
}
