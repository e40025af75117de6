import CPUBackend
import Foundation
import Models
import OspreyTestSupport
import Tensors
import Testing

/// Qwen3-MoE and GLM-4.5 (Glm4Moe) beyond the log-probability fixtures FidelityTests runs: the
/// same fixtures converted to GGUF, the checkpoint variants the loader must recognise, and the
/// published configs of Qwen3-30B-A3B and GLM-4.5-Air with dummy weights.
@Suite struct MixtureOfExpertsTests {
    static func folder(_ name: String) -> URL { Fixtures.directory.appendingPathComponent(name) }

    /// Fixtures with a `model.gguf` written by scripts/convert_fixture_to_gguf.py (llama.cpp's layout).
    static var ggufFixtures: [String] {
        Fixtures.modelNames.filter { FileManager.default.fileExists(atPath: folder($0).appendingPathComponent("model.gguf").path) }
    }

    @Test func ggufFixturesExist() {
        #expect(Set(Self.ggufFixtures).isSuperset(of: ["qwen3moe-top2-norm-mlponly", "glm4moe-shared-bias-mtp",
                                                        "glm4moe-groups-noshared-qknorm"]))
    }

    /// The GGUF holds the fixture's bf16 weights exactly, so the same reference and tolerance apply.
    @Test(arguments: ggufFixtures)
    func ggufLogProbabilitiesMatchTransformers(_ name: String) throws {
        let files = try ModelFiles.load(path: Self.folder(name).appendingPathComponent("model.gguf").path)
        #expect(files.loadFormat == .gguf)
        let hf = try ModelConfig(contentsOf: Self.folder(name).appendingPathComponent("config.json"))
        let c = files.config
        #expect(c.architecture == hf.architecture)
        #expect(c.numHiddenLayers == hf.numHiddenLayers, "GLM's nextn layers are not decoder layers")
        #expect(c.numNextnPredictLayers == hf.numNextnPredictLayers)
        #expect(c.numExperts == hf.numExperts && c.numExpertsPerTok == hf.numExpertsPerTok)
        #expect(c.moeIntermediateSize == hf.moeIntermediateSize && c.intermediateSize == hf.intermediateSize)
        #expect(c.normTopkProb == hf.normTopkProb)
        #expect(c.partialRotaryFactor == hf.partialRotaryFactor && c.headDim == hf.headDim)
        #expect(c.attentionBias == hf.attentionBias && c.useQKNorm == hf.useQKNorm)
        #expect(c.tieWordEmbeddings == hf.tieWordEmbeddings)
        if hf.architecture == "Glm4MoeForCausalLM" {
            #expect(c.numSharedExperts == hf.numSharedExperts && c.firstKDenseReplace == hf.firstKDenseReplace)
            #expect(c.nGroup == hf.nGroup && c.topkGroup == hf.topkGroup)
            #expect(c.routedScalingFactor == hf.routedScalingFactor)
        } else {
            // GGUF has no decoder_sparse_step / mlp_only_layers: the dense layers are the ones without a router.
            let dense = (0 ..< hf.numHiddenLayers).filter { hf.mlpOnlyLayers.contains($0) || ($0 + 1) % hf.decoderSparseStep != 0 }
            #expect(c.mlpOnlyLayers == dense)
        }

        let model = try ModelRegistry.load(config: c, weights: WeightLoader(source: try #require(files.weights), backend: CPUBackend()),
                                           maxPositions: 512)
        let reference = try Fixtures.reference(name)
        for prompt in reference.prompts {
            let logits = try Fixtures.prefillLogits(model, ids: prompt.ids)
            let vocab = c.vocabSize
            var worst: Float = 0
            for pos in prompt.ids.indices {
                let ours = logSoftmax(Array(logits[pos * vocab ..< (pos + 1) * vocab]))
                for (a, b) in zip(ours, prompt.logprobs[pos]) { worst = max(worst, abs(a - b)) }
            }
            #expect(worst < FidelityTests.tolerance, "\(name) (GGUF): max |Δ log p| = \(worst)")
        }
    }

    /// GLM-4.5 checkpoints carry multi-token-prediction layers after the last decoder layer; they are
    /// recognised by the config and never loaded (the model still matches transformers, FidelityTests).
    @Test func glmMultiTokenPredictionLayerIsInTheCheckpointButNotLoaded() throws {
        let files = try ModelFiles.load(path: Self.folder("glm4moe-shared-bias-mtp").path)
        let c = files.config
        #expect(c.numNextnPredictLayers == 1 && c.numHiddenLayers == 3)
        let weights = try #require(files.weights)
        #expect(weights.contains("model.layers.3.eh_proj.weight"))
        #expect(weights.contains("model.layers.3.mlp.experts.0.gate_proj.weight"))
        let loader = WeightLoader(source: weights, backend: CPUBackend())
        let model = try ModelRegistry.load(config: c, weights: loader, maxPositions: 64)
        #expect(model.numLayers == 3)
        let layer3 = weights.tensorNames.filter { $0.hasPrefix("model.layers.3.") }
            .reduce(0) { $0 + ((try? weights.tensor($1).bytes.count) ?? 0) }
        let all = weights.tensorNames.reduce(0) { $0 + ((try? weights.tensor($1).bytes.count) ?? 0) }
        #expect(layer3 > 0 && loader.loadedBytes <= all - layer3, "the MTP layer's \(layer3) bytes are not loaded")
    }

    /// The checkpoint layouts of expert weights: transformers 5's fused `experts.gate_up_proj` /
    /// `experts.down_proj` (save_original_format=False) and the per-expert matrices of published
    /// checkpoints; both fixtures pass FidelityTests.
    @Test func expertLayouts() throws {
        let fused = try #require(try ModelFiles.load(path: Self.folder("qwen3moe-top4-fused").path).weights)
        #expect(fused.contains("model.layers.0.mlp.experts.gate_up_proj"))
        #expect(try fused.tensor("model.layers.0.mlp.experts.gate_up_proj").shape == [8, 64, 64])
        #expect(!fused.contains("model.layers.0.mlp.experts.0.gate_proj.weight"))
        let split = try #require(try ModelFiles.load(path: Self.folder("qwen3moe-top2-norm-mlponly").path).weights)
        #expect(split.contains("model.layers.0.mlp.experts.7.up_proj.weight"))
        #expect(!split.contains("model.layers.0.mlp.experts.gate_up_proj"))
        #expect(!split.contains("model.layers.1.mlp.gate.weight"), "layer 1 is in mlp_only_layers")
        #expect(split.contains("model.layers.1.mlp.gate_proj.weight"))
    }

    /// Both layouts stack to the same tensors.
    @Test func perExpertMatricesStackLikeTheFusedTensor() throws {
        let split = try #require(try ModelFiles.load(path: Self.folder("qwen3moe-top2-norm-mlponly").path).weights)
        let backend = CPUBackend()
        let (gateUp, down) = try WeightLoader(source: split, backend: backend)
            .experts("model.layers.2.mlp.experts", count: 8, hidden: 64, intermediate: 32)
        #expect(gateUp.shape == [8, 64, 64] && down.shape == [8, 64, 32])
        let stacked = try backend.download(gateUp), downs = try backend.download(down)
        for e in [0, 5] {
            let gate = try split.tensor("model.layers.2.mlp.experts.\(e).gate_proj.weight").floats
            let up = try split.tensor("model.layers.2.mlp.experts.\(e).up_proj.weight").floats
            #expect(Array(stacked[e * 4096 ..< e * 4096 + 2048]) == gate)
            #expect(Array(stacked[e * 4096 + 2048 ..< (e + 1) * 4096]) == up)
            #expect(Array(downs[e * 2048 ..< (e + 1) * 2048]) == (try split.tensor("model.layers.2.mlp.experts.\(e).down_proj.weight").floats))
        }
    }

    /// A token reads only its experts: the loader counts routed-expert bytes apart (shared experts and
    /// dense layers are not among them), for bandwidth floors.
    @Test(arguments: [("qwen3moe-top2-norm-mlponly", 2), ("glm4moe-shared-bias-mtp", 2), ("glm4moe-top1-2shared", 2)])
    func expertBytesAreCountedApart(_ name: String, moeLayers: Int) throws {
        let files = try ModelFiles.load(path: Self.folder(name).path)
        let loader = WeightLoader(source: try #require(files.weights), backend: CPUBackend())
        _ = try ModelRegistry.load(config: files.config, weights: loader, maxPositions: 64)
        let c = files.config
        #expect(loader.expertBytes == moeLayers * c.numExperts * 3 * c.hiddenSize * c.moeIntermediateSize * 2)  // bf16
        #expect(loader.loadedBytes > loader.expertBytes)
    }

    /// The published configs with dummy weights: real hidden sizes, head dims, partial rotary and
    /// expert widths, with fewer experts and layers and a small vocabulary so the test stays light
    /// (one GLM-4.5-Air MoE layer of 128 experts is 4.4 GB in bf16).
    @Test(arguments: ["qwen3-30b-a3b", "glm-4.5-air"])
    func publishedConfigRunsWithDummyWeights(_ folder: String) throws {
        var c = try ModelConfig(contentsOf: repoRoot.appendingPathComponent("model-configs/\(folder)/config.json"))
        #expect(c.numExperts == 128 && c.numExpertsPerTok == 8)
        c.numHiddenLayers = 2
        c.numExperts = 16
        c.vocabSize = 1024
        if c.architecture == "Glm4MoeForCausalLM" {
            #expect(c.firstKDenseReplace == 1 && c.numSharedExperts == 1 && c.partialRotaryFactor == 0.5 && c.attentionBias)
            #expect(c.numNextnPredictLayers == 1)
            c.intermediateSize = 1024  // the dense first layer (10944 wide in the real model)
        }
        let backend = CPUBackend()
        let model = try ModelRegistry.load(config: c, weights: WeightLoader(dummy: .bf16, tiedEmbeddings: c.tieWordEmbeddings, backend: backend),
                                           maxPositions: 64)
        let logits = try Fixtures.prefillLogits(model, ids: [1, 2, 3, 4, 5])
        #expect(logits.count == 5 * 1024)
        #expect(logits.allSatisfy { $0.isFinite })
        #expect(Set(logits).count > 100, "logits vary")
    }
}
