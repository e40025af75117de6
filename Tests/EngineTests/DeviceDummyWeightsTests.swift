import Foundation
import Models
import OspreyTestSupport
import Tensors
import Testing

/// `--load-format dummy` on a backend that makes the matrices itself (`generateDummyMatrix`, the
/// GPU's `dummy_fill_bf16`) gives the model the loader would have generated on the host: the parts
/// of stacked matrices (q/k/v, gate/up, fused experts) keep their names' seeds and order.
@Suite struct DeviceDummyWeightsTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @Test(arguments: ["qwen3-8b", "qwen3-30b-a3b"])
    func deviceMadeMatricesEqualTheHosts(_ folder: String) throws {
        var c = try ModelConfig(contentsOf: Self.root.appendingPathComponent("model-configs/\(folder)/config.json"))
        c.numHiddenLayers = 2
        c.vocabSize = 512
        c.hiddenSize = 256
        c.intermediateSize = 512
        c.numAttentionHeads = 4
        c.numKeyValueHeads = 2
        c.headDim = 64
        if c.numExperts > 0 { c.numExperts = 8; c.numExpertsPerTok = 2; c.moeIntermediateSize = 128 }
        func logits(_ backend: ReplayingBackend) throws -> [Float] {
            let model = try ModelRegistry.load(config: c, weights: WeightLoader(dummy: .bf16, tiedEmbeddings: c.tieWordEmbeddings,
                                                                                backend: backend), maxPositions: 64)
            return try Fixtures.prefillLogits(model, ids: [1, 2, 3, 4, 5, 6, 7])
        }
        let device = ReplayingBackend()
        device.makesDummies = true
        let onDevice = try logits(device), onHost = try logits(ReplayingBackend())
        // Embedding, LM head, and per layer q/k/v, o, and gate/up and down (or fused experts, router).
        #expect(device.dummyMatrices >= 2 + 2 * 4, "\(device.dummyMatrices) matrices made by the backend")
        let differing = zip(onDevice, onHost).filter { $0 != $1 }.count
        #expect(onDevice.count == onHost.count && differing == 0, "\(differing) of \(onHost.count) logits differ")
        #expect(Set(onHost).count > 100, "logits vary")
    }
}
