import CPUBackend
import OspreyTestSupport
import Foundation
import Models
import Tensors
import Testing

/// Log-probabilities of every fixture model against float32 transformers references.
///
/// Tolerance 2e-4 absolute in log-probability: the weights are bf16 and both sides compute in
/// float32, so the only differences are summation order (relative ~1e-6 per dot product) amplified
/// through a few layers; the expected error is ~1e-5, and a real bug (a wrong rotary layout, a
/// missing bias, a mis-scaled norm) moves log-probs by 1e-2 or more.
struct FidelityTests {
    static let tolerance: Float = 2e-4

    @Test(arguments: Fixtures.modelNames)
    func logProbabilitiesMatchTransformers(_ name: String) throws {
        let reference = try Fixtures.reference(name)
        let backend = CPUBackend()
        let model = try Fixtures.loadModel(name, backend: backend)
        for prompt in reference.prompts {
            let logits = try Fixtures.prefillLogits(model, ids: prompt.ids)
            let vocab = model.config.vocabSize
            var worst: Float = 0
            for pos in prompt.ids.indices {
                let ours = logSoftmax(Array(logits[pos * vocab ..< (pos + 1) * vocab]))
                let theirs = prompt.logprobs[pos]
                #expect(theirs.count == vocab)
                for (a, b) in zip(ours, theirs) { worst = max(worst, abs(a - b)) }
            }
            #expect(worst < Self.tolerance, "\(name): max |Δ log p| = \(worst) over \(prompt.ids.count) positions")
        }
    }
}

