import Foundation
import Models
import Tensors
import Testing

/// Files written by Python's `safetensors.torch.save_file` (see scripts/gen-models-test-expectations.py)
/// read back exactly.
@Suite struct SafetensorsTests {
    let dir = TempDir()

    func expectValues(_ weights: any WeightSource, _ expected: [String: ([Int], [Float])]) throws {
        #expect(Set(weights.tensorNames) == Set(expected.keys))
        for (name, (shape, values)) in expected {
            let t = try weights.tensor(name)
            #expect(t.shape == shape, "\(name)")
            #expect(t.floats == values, "\(name)")
        }
    }

    @Test func singleFile() throws {
        let file = dir.write("model.safetensors", Data(base64Encoded: SafetensorsFixtures.single)!)
        let weights = try SafetensorsWeights(files: [file.path])
        try expectValues(weights, SafetensorsFixtures.singleValues)
        #expect(try weights.tensor("a.f32").dtype == .f32)
        #expect(try weights.tensor("b.f16").dtype == .f16)
        #expect(try weights.tensor("c.bf16").dtype == .bf16)
        let error = modelError { _ = try weights.tensor("nope") }
        #expect(error == .missingTensor(name: "nope", source: file.path))
    }

    @Test func shardedThroughModelFiles() throws {
        dir.write("config.json", ConfigTests.transformers5)
        dir.write("generation_config.json", #"{"temperature": 0.7, "eos_token_id": 128009}"#)
        for (name, shard) in zip(SafetensorsFixtures.shardNames, SafetensorsFixtures.shards) {
            dir.write(name, Data(base64Encoded: shard)!)
        }
        dir.write("model.safetensors.index.json", SafetensorsFixtures.index)
        let model = try ModelFiles.load(path: dir.url.path)
        #expect(model.loadFormat == .safetensors)
        #expect(model.config.architecture == "LlamaForCausalLM")
        #expect(model.generationConfig.temperature == 0.7)
        #expect(model.generationConfig.eosTokenIds == [128009])
        #expect(model.generationConfig.bosTokenId == 128000, "taken from config.json when absent")
        #expect(model.gguf == nil)
        #expect(model.directory?.standardizedFileURL.path == dir.url.standardizedFileURL.path)
        try expectValues(try #require(model.weights), SafetensorsFixtures.shardedValues)
    }

    @Test func unindexedShardsAreUnited() throws {
        dir.write("config.json", ConfigTests.transformers4)
        for (name, shard) in zip(SafetensorsFixtures.shardNames, SafetensorsFixtures.shards) {
            dir.write(name, Data(base64Encoded: shard)!)
        }
        let model = try ModelFiles.load(path: dir.url.path, loadFormat: .safetensors)
        try expectValues(try #require(model.weights), SafetensorsFixtures.shardedValues)
    }

    @Test func singleFilePathUsesConfigBesideIt() throws {
        dir.write("config.json", ConfigTests.transformers4)
        let file = dir.write("weights.safetensors", Data(base64Encoded: SafetensorsFixtures.single)!)
        let model = try ModelFiles.load(path: file.path)
        #expect(model.loadFormat == .safetensors)
        try expectValues(try #require(model.weights), SafetensorsFixtures.singleValues)
    }

    /// GGUF quantizations published beside the safetensors do not get in the way.
    @Test func safetensorsWinOverGGUFsBesideThem() throws {
        dir.write("config.json", ConfigTests.transformers4)
        dir.write("model.safetensors", Data(base64Encoded: SafetensorsFixtures.single)!)
        dir.write("model-Q4_K_M.gguf", TinyGGUF().data)
        dir.write("model-Q8_0.gguf", TinyGGUF().data)
        let model = try ModelFiles.load(path: dir.url.path)
        #expect(model.loadFormat == .safetensors)
        #expect(model.gguf == nil)
        let error = modelError { _ = try ModelFiles.load(path: dir.url.path, loadFormat: .gguf) }
        guard case .invalidConfig(let path, let reason) = error else { Issue.record("got \(String(describing: error))"); return }
        #expect(path == dir.url.path)
        #expect(reason.contains("model-Q8_0.gguf"))
        let one = try ModelFiles.load(path: dir.path("model-Q8_0.gguf"))
        #expect(one.loadFormat == .gguf)
    }

    @Test func dummyFormatReadsOnlyTheConfig() throws {
        dir.write("config.json", ConfigTests.transformers4)
        let model = try ModelFiles.load(path: dir.url.path, loadFormat: .dummy)
        #expect(model.weights == nil)
        #expect(model.loadFormat == .dummy)
        #expect(model.config.hiddenSize == 2048)
        #expect(model.generationConfig.eosTokenIds == [128001, 128008, 128009])
    }

    /// Tensors keep the mapping alive after the file object and weight source are gone.
    @Test func tensorOutlivesItsSource() throws {
        let file = dir.write("model.safetensors", Data(base64Encoded: SafetensorsFixtures.single)!)
        var weights: SafetensorsWeights? = try SafetensorsWeights(files: [file.path])
        let t = try weights!.tensor("b.f16")
        weights = nil
        #expect(t.floats == SafetensorsFixtures.singleValues["b.f16"]!.1)
    }
}
