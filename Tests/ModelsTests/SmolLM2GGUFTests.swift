import Foundation
import Models
import Tensors
import Testing

/// The default model (SmolLM2-135M-Instruct, Q4_1 GGUF, llama architecture) against values computed
/// by the Python `gguf` package (scripts/gen-models-test-expectations.py).
@Suite(.enabled(if: haveSmolLM2, "run scripts/fetch-default-model.sh first"))
struct SmolLM2GGUFTests {
    typealias E = SmolLM2Expectations

    @Test func metadata() throws {
        let file = try GGUFFile(path: smolLM2Path)
        #expect(file.version == 3)
        #expect(file.metadata.count == E.metadataCount)
        #expect(file.tensorInfos.count == E.tensorCount)
        #expect(file.alignment == 32)
        for (key, value) in E.ints { #expect(file.metadata[key]?.int == value, "\(key)") }
        for (key, value) in E.floats { #expect(file.metadata[key]?.float == value, "\(key)") }
        for (key, value) in E.strings { #expect(file.metadata[key]?.string == value, "\(key)") }
        #expect(file.metadata["general.languages"]?.strings == E.languages)
        #expect(file.metadata["tokenizer.ggml.add_bos_token"]?.bool == E.addBosToken)
        let tokens = try #require(file.metadata["tokenizer.ggml.tokens"]?.strings)
        #expect(tokens.count == E.tokenCount)
        #expect(Array(tokens.prefix(E.firstTokens.count)) == E.firstTokens)
        #expect(tokens.last == E.lastToken)
        let merges = try #require(file.metadata["tokenizer.ggml.merges"]?.strings)
        #expect(merges.count == E.mergeCount)
        #expect(Array(merges.prefix(E.firstMerges.count)) == E.firstMerges)
        let types = try #require(file.metadata["tokenizer.ggml.token_type"]?.ints)
        #expect(types.reduce(0, +) == E.tokenTypeSum)
        #expect(Array(types.prefix(E.firstTokenTypes.count)) == E.firstTokenTypes)
        let template = try #require(file.metadata["tokenizer.chat_template"]?.string)
        #expect(template.utf8.count == E.chatTemplateLength)
        #expect(template.hasPrefix(E.chatTemplatePrefix))
        for (name, type, shape) in E.tensors {
            let info = try #require(file.info(name))
            #expect(info.type.description == type, "\(name)")
            #expect(info.shape == shape, "\(name)")
        }
        #expect(try file.tensor("output_norm.weight").floats.prefix(8).elementsEqual(E.outputNormFirst))
    }

    @Test func config() throws {
        let model = try ModelFiles.load(path: smolLM2Path)
        let c = model.config
        #expect(c.architecture == "LlamaForCausalLM")
        #expect(c.modelType == "llama")
        #expect(c.vocabSize == 49152)
        #expect(c.hiddenSize == 576)
        #expect(c.intermediateSize == 1536)
        #expect(c.numHiddenLayers == 30)
        #expect(c.numAttentionHeads == 9)
        #expect(c.numKeyValueHeads == 3)
        #expect(c.headDim == 64)
        #expect(c.partialRotaryFactor == 1)
        #expect(c.ropeTheta == 100_000)
        #expect(c.rmsNormEps == Double(Float(1e-5)))
        #expect(c.maxPositionEmbeddings == 8192)
        #expect(c.tieWordEmbeddings)
        #expect(c.attentionBias == false)
        #expect(c.bosTokenId == 1)
        #expect(c.eosTokenIds == [2])
        #expect(model.generationConfig.eosTokenIds == [2])
        #expect(model.gguf?.metadata["tokenizer.chat_template"]?.string != nil)
    }

    @Test func weightsUnderHFNames() throws {
        let model = try ModelFiles.load(path: smolLM2Path)
        let w = try #require(model.weights)
        #expect(w.tensorNames.count == 272)
        #expect(!w.contains("lm_head.weight"))
        let embed = try w.tensor("model.embed_tokens.weight")
        #expect(embed.dtype == .q8_0 && embed.shape == [49152, 576])
        let norm = try w.tensor("model.layers.29.post_attention_layernorm.weight")
        #expect(norm.dtype == .f32 && norm.shape == [576])
        let down = try w.tensor("model.layers.0.mlp.down_proj.weight")
        #expect(down.dtype == .q4_1 && down.shape == [576, 1536])
        #expect(try w.tensor("model.norm.weight").floats.prefix(8).elementsEqual(E.outputNormFirst))
    }

    /// Stored rows dequantize to the `gguf` package's values; served rows to the values after undoing
    /// convert_hf_to_gguf.py's permute, and the whole served tensor hashes like Python's un-permuted bytes.
    @Test(arguments: ["q", "k"])
    func unpermutation(which: String) throws {
        let file = try GGUFFile(path: smolLM2Path)
        let weights = try GGUFWeights(file: file)
        let (rows, stored, hf, fnv) = which == "q"
            ? (E.qCheckedRows, E.qStored, E.qHF, E.qHFBytesFNV)
            : (E.kCheckedRows, E.kStored, E.kHF, E.kHFBytesFNV)
        let raw = try file.tensor("blk.0.attn_\(which).weight")
        let served = try weights.tensor("model.layers.0.self_attn.\(which)_proj.weight")
        #expect(served.shape == raw.shape && served.dtype == .q4_1)
        for (i, row) in rows.enumerated() {
            #expect(zip(raw.q4_1Row(row).prefix(8), stored[i]).allSatisfy { abs($0 - $1) <= 1e-6 }, "stored row \(row)")
            #expect(zip(served.q4_1Row(row).prefix(8), hf[i]).allSatisfy { abs($0 - $1) <= 1e-6 }, "served row \(row)")
        }
        #expect(served.fnv1a == fnv)
        #expect(served.fnv1a != raw.fnv1a)
    }

    @Test func dummyFromGGUF() throws {
        let model = try ModelFiles.load(path: smolLM2Path, loadFormat: .dummy)
        #expect(model.weights == nil)
        #expect(model.gguf != nil)
        #expect(model.config.hiddenSize == 576)
    }
}
