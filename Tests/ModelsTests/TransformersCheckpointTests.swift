import Foundation
import Models
import Testing

/// A checkpoint as transformers' `save_pretrained` writes it today (5.x config spelling, bf16 shards
/// with an index, generation_config.json), loaded through the public entry point.
@Suite struct TransformersCheckpointTests {
    let dir = TempDir()

    init() {
        for (name, contents) in TransformersCheckpoint.files {
            dir.write(name, Data(base64Encoded: contents)!)
        }
    }

    @Test func configAndGenerationConfig() throws {
        let model = try ModelFiles.load(path: dir.url.path)
        let c = model.config
        #expect(c.architecture == "Qwen3ForCausalLM")
        #expect(c.vocabSize == 32 && c.hiddenSize == 16 && c.intermediateSize == 32)
        #expect(c.numHiddenLayers == 1 && c.numAttentionHeads == 2 && c.numKeyValueHeads == 1 && c.headDim == 8)
        #expect(c.ropeTheta == 10000)
        #expect(c.ropeScaling == .none)
        #expect(c.maxPositionEmbeddings == 128)
        #expect(c.torchDtype == "bfloat16")
        #expect(c.eosTokenIds == [2, 3])
        #expect(c.bosTokenId == 1)
        #expect(model.generationConfig.eosTokenIds == [2, 3])
    }

    @Test func everyTensorMatchesTheStateDict() throws {
        let weights = try #require(try ModelFiles.load(path: dir.url.path).weights)
        #expect(Set(weights.tensorNames) == Set(TransformersCheckpoint.tensors.keys))
        for (name, (shape, first, sum)) in TransformersCheckpoint.tensors {
            let t = try weights.tensor(name)
            #expect(t.dtype == .bf16, "\(name)")
            #expect(t.shape == shape, "\(name)")
            let values = t.floats
            #expect(Array(values.prefix(4)) == first, "\(name)")
            let total = values.reduce(0.0) { $0 + Double($1) }
            #expect(abs(total - sum) < 1e-9, "\(name)")
        }
    }
}
