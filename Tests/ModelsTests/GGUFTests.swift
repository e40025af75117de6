import Foundation
import Models
import Tensors
import Testing

/// Hand-made GGUF files: value types, alignment, name mapping and the llama q/k un-permutation.
@Suite struct GGUFTests {
    let dir = TempDir()

    @Test func everyMetadataValueType() throws {
        var b = GGUFBuilder()
        b.header(version: 2, tensors: 0, kvs: 15)
        b.string("u8"); b.u32(0); b.u8(200)
        b.string("i8"); b.u32(1); b.u8(0xFF)
        b.string("u16"); b.u32(2); b.bytes += [0x34, 0x12]
        b.string("i16"); b.u32(3); b.bytes += [0xFE, 0xFF]
        b.kvU32("u32", 4_000_000_000)
        b.string("i32"); b.u32(5); b.i32(-7)
        b.kvF32("f32", 0.5)
        b.string("bool"); b.u32(7); b.u8(1)
        b.kvString("str", "héllo")
        b.string("u64"); b.u32(10); b.u64(1 << 40)
        b.string("i64"); b.u32(11); b.u64(UInt64(bitPattern: -5))
        b.string("f64"); b.u32(12); b.u64((2.25).bitPattern)
        b.string("strs"); b.u32(9); b.u32(8); b.u64(2); b.string("a"); b.string("bc")
        b.string("floats"); b.u32(9); b.u32(6); b.u64(2); b.f32(1.5); b.f32(-2)
        // An array of arrays of int32: [[1, 2], [3]].
        b.string("nested"); b.u32(9); b.u32(9); b.u64(2)
        b.u32(5); b.u64(2); b.i32(1); b.i32(2)
        b.u32(5); b.u64(1); b.i32(3)
        let file = try GGUFFile(url: dir.write("values.gguf", b.data))
        let m = file.metadata
        #expect(file.version == 2)
        #expect(m.count == 15)
        #expect(m["u8"] == .uint8(200) && m["u8"]?.int == 200)
        #expect(m["i8"]?.int == -1)
        #expect(m["u16"]?.int == 0x1234)
        #expect(m["i16"]?.int == -2)
        #expect(m["u32"]?.int == 4_000_000_000)
        #expect(m["i32"]?.int == -7)
        #expect(m["f32"]?.float == 0.5)
        #expect(m["f32"]?.int == nil)
        #expect(m["bool"]?.bool == true)
        #expect(m["str"]?.string == "héllo")
        #expect(m["u64"]?.int == 1 << 40)
        #expect(m["i64"]?.int == -5)
        #expect(m["f64"]?.float == 2.25)
        #expect(m["strs"]?.strings == ["a", "bc"])
        #expect(m["strs"]?.ints == nil)
        #expect(m["floats"]?.floats == [1.5, -2])
        #expect(m["nested"]?.array?.map(\.ints) == [[1, 2], [3]])
        #expect(file.tensorInfos.isEmpty)
    }

    @Test func tinyLlamaConfigAndNames() throws {
        let file = dir.write("tiny.gguf", TinyGGUF().data)
        let model = try ModelFiles.load(path: file.path)
        #expect(model.loadFormat == .gguf)
        #expect(model.directory == nil)
        let c = model.config
        #expect(c.architecture == "LlamaForCausalLM")
        #expect(c.modelType == "llama")
        #expect(c.vocabSize == 4, "vocab from tokenizer.ggml.tokens when llama.vocab_size is absent")
        #expect(c.hiddenSize == 8 && c.intermediateSize == 16 && c.numHiddenLayers == 1)
        #expect(c.numAttentionHeads == 2 && c.numKeyValueHeads == 1 && c.headDim == 4)
        #expect(c.maxPositionEmbeddings == 64)
        #expect(c.ropeTheta == 10000)
        #expect(c.rmsNormEps == Double(Float(1e-5)))
        #expect(c.tieWordEmbeddings, "no output.weight")
        #expect(c.attentionBias == false)
        let w = try #require(model.weights)
        #expect(Set(w.tensorNames) == [
            "model.embed_tokens.weight", "model.layers.0.input_layernorm.weight",
            "model.layers.0.self_attn.q_proj.weight", "model.layers.0.self_attn.k_proj.weight",
            "model.layers.0.self_attn.v_proj.weight", "model.layers.0.self_attn.o_proj.weight",
            "model.layers.0.post_attention_layernorm.weight", "model.layers.0.mlp.gate_proj.weight",
            "model.layers.0.mlp.up_proj.weight", "model.layers.0.mlp.down_proj.weight", "model.norm.weight",
        ])
        let embed = try w.tensor("model.embed_tokens.weight")
        #expect(embed.shape == [4, 8])
        #expect(embed.floats == TinyGGUF.values(index: 0, count: 32))
        #expect(try w.tensor("model.layers.0.mlp.down_proj.weight").shape == [8, 16])
        #expect(try w.tensor("model.norm.weight").floats == TinyGGUF.values(index: 10, count: 8))
        #expect(modelError { _ = try w.tensor("lm_head.weight") } == .missingTensor(name: "lm_head.weight", source: file.path))
    }

    /// Per head of dim 4, HF rows [0, 1, 2, 3] are stored as rows [0, 2, 1, 3].
    @Test func llamaQKRowsUnpermuted() throws {
        let model = try ModelFiles.load(path: dir.write("tiny.gguf", TinyGGUF().data).path)
        let w = try #require(model.weights)
        func rowsOf(_ t: HostTensor) -> [Float] { stride(from: 0, to: t.count, by: 8).map { t.floats[$0] } }
        let q = try w.tensor("model.layers.0.self_attn.q_proj.weight")
        #expect(q.shape == [8, 8])
        #expect(rowsOf(q).map { ($0 - 200) / 8 } == [0, 2, 1, 3, 4, 6, 5, 7])
        #expect(q.floats[8 ..< 16].elementsEqual(TinyGGUF.values(index: 2, count: 64)[16 ..< 24]), "whole rows move")
        let k = try w.tensor("model.layers.0.self_attn.k_proj.weight")
        #expect(rowsOf(k).map { ($0 - 300) / 8 } == [0, 2, 1, 3])
        let v = try w.tensor("model.layers.0.self_attn.v_proj.weight")
        #expect(rowsOf(v).map { ($0 - 400) / 8 } == [0, 1, 2, 3], "v is not permuted")
    }

    @Test func qwen2IsNotPermutedAndHasBias() throws {
        var tiny = TinyGGUF()
        tiny.architecture = "qwen2"
        tiny.withQBias = true
        tiny.withOutput = true
        let model = try ModelFiles.load(path: dir.write("qwen2.gguf", tiny.data).path)
        #expect(model.config.architecture == "Qwen2ForCausalLM")
        #expect(model.config.attentionBias)
        #expect(model.config.tieWordEmbeddings == false)
        let w = try #require(model.weights)
        let q = try w.tensor("model.layers.0.self_attn.q_proj.weight")
        #expect(q.floats == TinyGGUF.values(index: 2, count: 64))
        #expect(try w.tensor("model.layers.0.self_attn.q_proj.bias").floats == TinyGGUF.values(index: 11, count: 8))
        #expect(try w.tensor("lm_head.weight").shape == [4, 8])
    }

    /// Stacked expert tensors [experts, rows, cols] are served one expert at a time under HF names.
    @Test func qwen3MoEExperts() throws {
        var tiny = TinyGGUF()
        tiny.architecture = "qwen3moe"
        tiny.extraMetadata = [("expert_count", 2), ("expert_used_count", 1), ("expert_feed_forward_length", 4)]
        tiny.extraTensors = [
            ("blk.0.ffn_gate_inp.weight", [2, 8]),
            ("blk.0.ffn_gate_exps.weight", [2, 4, 8]),
            ("blk.0.ffn_down_exps.weight", [2, 8, 4]),
            ("blk.0.attn_q_norm.weight", [4]),
        ]
        let model = try ModelFiles.load(path: dir.write("moe.gguf", tiny.data).path)
        let c = model.config
        #expect(c.architecture == "Qwen3MoeForCausalLM")
        #expect(c.numExperts == 2 && c.numExpertsPerTok == 1 && c.moeIntermediateSize == 4)
        #expect(c.normTopkProb && c.useQKNorm)
        let w = try #require(model.weights)
        #expect(try w.tensor("model.layers.0.mlp.gate.weight").shape == [2, 8])
        #expect(try w.tensor("model.layers.0.self_attn.q_norm.weight").floats == TinyGGUF.values(index: 14, count: 4))
        let stacked = TinyGGUF.values(index: 12, count: 64)
        let e0 = try w.tensor("model.layers.0.mlp.experts.0.gate_proj.weight")
        let e1 = try w.tensor("model.layers.0.mlp.experts.1.gate_proj.weight")
        #expect(e0.shape == [4, 8] && e1.shape == [4, 8])
        #expect(e0.floats == Array(stacked[0 ..< 32]))
        #expect(e1.floats == Array(stacked[32 ..< 64]))
        #expect(try w.tensor("model.layers.0.mlp.experts.1.down_proj.weight").shape == [8, 4])
        #expect(!w.contains("model.layers.0.mlp.experts.2.gate_proj.weight"))
        // qwen3moe is not permuted.
        #expect(try w.tensor("model.layers.0.self_attn.q_proj.weight").floats == TinyGGUF.values(index: 2, count: 64))
    }

    /// Llama 3.x GGUFs store llama3 rope scaling only as `rope_freqs.weight`; the config recovers it.
    @Test(arguments: [8.0, 32.0])
    func llama3RopeScalingFromFrequencyFactors(factor: Double) throws {
        var tiny = TinyGGUF()
        tiny.ropeTheta = Float(Llama3RopeFactors.ropeTheta)
        tiny.extraMetadata = [("attention.key_length", UInt32(Llama3RopeFactors.headDim))]
        tiny.extraTensors = [("rope_freqs.weight", [Llama3RopeFactors.headDim / 2])]
        tiny.values = ["rope_freqs.weight": Llama3RopeFactors.factors[factor]!]
        let model = try ModelFiles.load(path: dir.write("llama3.gguf", tiny.data).path)
        #expect(model.config.ropeTheta == 500_000)
        #expect(model.config.headDim == 64)
        #expect(model.config.ropeScaling == .llama3(factor: factor, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: 8192))

        // Factors that are not llama3's leave the scaling alone.
        tiny.values = ["rope_freqs.weight": (0 ..< 32).map { Float($0 + 1) }]
        let other = try ModelFiles.load(path: dir.write("other.gguf", tiny.data).path)
        #expect(other.config.ropeScaling == .none)
    }

    /// A model split by gguf-split opens whole from its directory, its first shard or any other shard.
    @Test func splitModel() throws {
        let tiny = TinyGGUF()
        let whole = try ModelFiles.load(path: dir.write("whole.gguf", tiny.data).path)
        let splitDir = TempDir()
        let names = (1 ... 3).map { String(format: "tiny-%05d-of-00003.gguf", $0) }
        for (name, data) in zip(names, tiny.split(into: 3)) { splitDir.write(name, data) }
        for path in [splitDir.url.path, splitDir.path(names[0]), splitDir.path(names[2])] {
            let model = try ModelFiles.load(path: path)
            #expect(model.config == whole.config, "\(path)")
            #expect(model.gguf?.shardPaths.count == 3)
            let weights = try #require(model.weights)
            let reference = try #require(whole.weights)
            #expect(weights.tensorNames == reference.tensorNames)
            for name in reference.tensorNames {
                #expect(try weights.tensor(name).floats == reference.tensor(name).floats, "\(name)")
            }
        }
        #expect(try GGUFFile(path: splitDir.path(names[0])).info("output_norm.weight")?.shard == 2)

        try FileManager.default.removeItem(atPath: splitDir.path(names[1]))
        let error = modelError { _ = try ModelFiles.load(path: splitDir.path(names[0])) }
        #expect(error == .missingShard(index: splitDir.path(names[0]), shard: names[1]))
    }

    @Test func customAlignment() throws {
        var tiny = TinyGGUF()
        tiny.alignment = 64
        let file = try GGUFFile(url: dir.write("aligned.gguf", tiny.data))
        #expect(file.alignment == 64)
        #expect(file.dataOffset % 64 == 0)
        #expect(file.tensorInfos.allSatisfy { $0.range.lowerBound % 64 == 0 })
        #expect(try file.tensor("output_norm.weight").floats == TinyGGUF.values(index: 10, count: 8))
    }

    /// Quantized rows must be whole blocks: [16, 8] cannot be Q4_K (256 per block).
    @Test func partialQuantBlocksRefused() throws {
        var tiny = TinyGGUF()
        tiny.types = ["blk.0.ffn_gate.weight": (12, 144)]
        let file = dir.write("q.gguf", tiny.data)
        let error = modelError { _ = try GGUFFile(url: file) }
        guard case .corruptFile(let path, let reason) = error else { Issue.record("got \(String(describing: error))"); return }
        #expect(path == file.path)
        #expect(reason.contains("ffn_gate") && reason.contains("blocks"))
    }
}
