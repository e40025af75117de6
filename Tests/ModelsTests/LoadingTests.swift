import Foundation
import Models
import Testing

/// Bad files give the right `ModelError`, and its message names the file.
@Suite struct LoadingTests {
    let dir = TempDir()

    @Test func missingPath() {
        let path = dir.path("nowhere")
        let error = modelError { _ = try ModelFiles.load(path: path) }
        #expect(error == .fileNotFound(path: path))
        #expect(error?.description.contains(path) == true)
    }

    @Test func directoryWithoutConfig() throws {
        dir.write("model.safetensors", safetensorsBytes(header: "{}", data: []))
        let error = modelError { _ = try ModelFiles.load(path: dir.url.path) }
        guard case .fileNotFound(let path) = error else { Issue.record("got \(String(describing: error))"); return }
        #expect(path.hasSuffix("config.json"))
    }

    @Test func truncatedSafetensors() {
        let file = dir.write("short.safetensors", Data([1, 2, 3]))
        let error = modelError { _ = try SafetensorsFile(url: file) }
        guard case .corruptFile(let path, _) = error else { Issue.record("got \(String(describing: error))"); return }
        #expect(path == file.path)
        #expect(error!.description.contains(file.path))
    }

    @Test func headerLengthBeyondFile() {
        let file = dir.write("long.safetensors", safetensorsBytes(header: "{}", data: [], declaredLength: 1_000_000))
        let error = modelError { _ = try SafetensorsFile(url: file) }
        guard case .corruptFile(let path, let reason) = error else { Issue.record("got \(String(describing: error))"); return }
        #expect(path == file.path)
        #expect(reason.contains("header length"))
    }

    @Test func badHeaderJSON() {
        let file = dir.write("bad.safetensors", safetensorsBytes(header: #"{"a": {"dtype": "F32", "#, data: []))
        let error = modelError { _ = try SafetensorsFile(url: file) }
        guard case .corruptFile(let path, let reason) = error else { Issue.record("got \(String(describing: error))"); return }
        #expect(path == file.path)
        #expect(reason.contains("JSON"))
    }

    @Test func tensorRangeOutOfBounds() {
        let header = #"{"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}"#
        let file = dir.write("oob.safetensors", safetensorsBytes(header: header, data: [UInt8](repeating: 0, count: 8)))
        let error = modelError { _ = try SafetensorsFile(url: file) }
        guard case .corruptFile(let path, let reason) = error else { Issue.record("got \(String(describing: error))"); return }
        #expect(path == file.path)
        #expect(reason.contains("'w'"))
        #expect(error!.description.contains(file.path))
    }

    @Test func rangeDisagreesWithShape() {
        let header = #"{"w": {"dtype": "BF16", "shape": [2, 3], "data_offsets": [0, 8]}}"#
        let file = dir.write("shape.safetensors", safetensorsBytes(header: header, data: [UInt8](repeating: 0, count: 8)))
        let error = modelError { _ = try SafetensorsFile(url: file) }
        guard case .corruptFile(let path, let reason) = error else { Issue.record("got \(String(describing: error))"); return }
        #expect(path == file.path)
        #expect(reason.contains("needs 12 bytes"))
    }

    @Test(arguments: [("I8", 1), ("F64", 8)])
    func unsupportedSafetensorsDType(dtype: String, size: Int) throws {
        let header = #"{"__metadata__": {"format": "pt"}, "q": {"dtype": "\#(dtype)", "shape": [2], "data_offsets": [0, \#(2 * size)]}}"#
        let file = dir.write("\(dtype).safetensors", safetensorsBytes(header: header, data: [UInt8](repeating: 0, count: 2 * size)))
        let weights = try SafetensorsWeights(files: [file.path])
        #expect(weights.tensorNames == ["q"])
        let error = modelError { _ = try weights.tensor("q") }
        #expect(error == .unsupportedDType(file: file.path, tensor: "q", dtype: dtype))
        #expect(error?.description.contains(file.path) == true)
    }

    @Test func missingShard() throws {
        dir.write("config.json", ConfigTests.transformers4)
        dir.write("model-00001-of-00002.safetensors", Data(base64Encoded: SafetensorsFixtures.shards[0])!)
        let index = dir.write("model.safetensors.index.json", SafetensorsFixtures.index)
        let error = modelError { _ = try ModelFiles.load(path: dir.url.path) }
        #expect(error == .missingShard(index: index.path, shard: "model-00002-of-00002.safetensors"))
        #expect(error?.description.contains(index.path) == true)
    }

    @Test func indexNamesTensorAbsentFromShard() throws {
        dir.write("a.safetensors", Data(base64Encoded: SafetensorsFixtures.shards[0])!)
        let index = dir.write("model.safetensors.index.json", #"{"weight_map": {"ghost.weight": "a.safetensors"}}"#)
        let error = modelError { _ = try SafetensorsWeights(index: index) }
        guard case .corruptFile(let path, let reason) = error else { Issue.record("got \(String(describing: error))"); return }
        #expect(path == dir.path("a.safetensors"))
        #expect(reason.contains("ghost.weight"))
    }

    @Test func tensorInTwoFiles() {
        let single = Data(base64Encoded: SafetensorsFixtures.single)!
        let a = dir.write("a.safetensors", single)
        let b = dir.write("b.safetensors", single)
        let error = modelError { _ = try SafetensorsWeights(files: [a.path, b.path]) }
        guard case .corruptFile(let path, let reason) = error else { Issue.record("got \(String(describing: error))"); return }
        #expect(path == b.path)
        #expect(reason.contains(a.path))
    }

    @Test func ggufMissingMetadata() {
        var b = GGUFBuilder()
        b.header(tensors: 0, kvs: 1)
        b.kvString("general.architecture", "qwen3")
        let file = dir.write("bare.gguf", b.data)
        let error = modelError { _ = try ModelFiles.load(path: file.path) }
        guard case .invalidConfig(let path, let reason) = error else { Issue.record("got \(String(describing: error))"); return }
        #expect(path == file.path)
        #expect(reason.contains("qwen3.embedding_length"))
    }

    @Test func configMissingField() {
        let file = dir.write("config.json", #"{"architectures": ["LlamaForCausalLM"], "hidden_size": 8}"#)
        let error = modelError { _ = try ModelConfig(contentsOf: file) }
        guard case .invalidConfig(let path, let reason) = error else { Issue.record("got \(String(describing: error))"); return }
        #expect(path == file.path)
        #expect(reason.contains("num_attention_heads"))
        #expect(error!.description.contains(file.path))
    }

    @Test func configBadJSON() {
        let file = dir.write("config.json", #"{"architectures": ["LlamaForCausalLM"],"#)
        let error = modelError { _ = try ModelConfig(contentsOf: file) }
        guard case .invalidConfig(let path, let reason) = error else { Issue.record("got \(String(describing: error))"); return }
        #expect(path == file.path)
        #expect(reason.contains("JSON"))
    }

    @Test func configWrongFieldType() {
        let file = dir.write("config.json", ConfigTests.transformers4.replacingOccurrences(of: #""vocab_size": 128256"#, with: #""vocab_size": "many""#))
        let error = modelError { _ = try ModelConfig(contentsOf: file) }
        guard case .invalidConfig(let path, let reason) = error else { Issue.record("got \(String(describing: error))"); return }
        #expect(path == file.path)
        #expect(reason.contains("vocab_size"))
    }

    @Test func configUnknownRopeType() {
        let file = dir.write("config.json", ConfigTests.transformers4.replacingOccurrences(of: #""rope_type": "llama3""#, with: #""rope_type": "longrope""#))
        let error = modelError { _ = try ModelConfig(contentsOf: file) }
        guard case .invalidConfig(let path, let reason) = error else { Issue.record("got \(String(describing: error))"); return }
        #expect(path == file.path)
        #expect(reason.contains("longrope"))
    }

    @Test func ggufWrongMagic() {
        var data = TinyGGUF().data
        data[0] = UInt8(ascii: "X")
        let file = dir.write("magic.gguf", data)
        let error = modelError { _ = try GGUFFile(url: file) }
        guard case .corruptFile(let path, let reason) = error else { Issue.record("got \(String(describing: error))"); return }
        #expect(path == file.path)
        #expect(reason.contains("magic"))
        #expect(error!.description.contains(file.path))
    }

    @Test func ggufUnsupportedVersion() {
        var b = GGUFBuilder()
        b.header(version: 1, tensors: 0, kvs: 0)
        let file = dir.write("v1.gguf", b.data)
        let error = modelError { _ = try GGUFFile(url: file) }
        guard case .corruptFile(_, let reason) = error else { Issue.record("got \(String(describing: error))"); return }
        #expect(reason.contains("version 1"))
    }

    /// Cut anywhere — in the header, the metadata, the tensor infos or the data — the file is refused.
    @Test func ggufTruncated() {
        let full = TinyGGUF().data
        for cut in [3, 20, 60, 300, full.count / 2, full.count - 1] {
            let file = dir.write("cut\(cut).gguf", full.prefix(cut))
            let error = modelError { _ = try GGUFFile(url: file) }
            guard case .corruptFile(let path, let reason) = error else {
                Issue.record("cut at \(cut): got \(String(describing: error))")
                continue
            }
            #expect(path == file.path)
            #expect(!reason.isEmpty)
        }
    }

    @Test func ggufTensorPastEnd() {
        let full = TinyGGUF().data
        let file = dir.write("cut.gguf", full.prefix(full.count - 4))
        let error = modelError { _ = try GGUFFile(url: file) }
        guard case .corruptFile(_, let reason) = error else { Issue.record("got \(String(describing: error))"); return }
        #expect(reason.contains("output_norm.weight"))
    }

    @Test func ggufUnknownTensorType() throws {
        // Q5_K (13): known size, not computed with. 99: a number this reader does not know.
        for (type, label) in [(UInt32(13), "Q5_K"), (99, "type 99")] {
            var tiny = TinyGGUF()
            tiny.types = ["blk.0.ffn_up.weight": (type, 176)]
            tiny.shapes = ["blk.0.ffn_up.weight": [16, 256]]
            let file = dir.write("type\(type).gguf", tiny.data)
            let opened = try GGUFFile(url: file)   // metadata stays readable
            #expect(opened.architecture == "llama")
            let error = modelError { _ = try ModelFiles.load(path: file.path) }
            #expect(error == .unsupportedDType(file: file.path, tensor: "blk.0.ffn_up.weight", dtype: label))
            #expect(error?.description.contains(file.path) == true)
            #expect(error?.description.contains(label) == true)
        }
    }

    @Test func ggufUnsupportedArchitecture() {
        var tiny = TinyGGUF()
        tiny.architecture = "mamba"
        let file = dir.write("mamba.gguf", tiny.data)
        let error = modelError { _ = try ModelFiles.load(path: file.path) }
        guard case .unsupportedArchitecture(let name, _) = error else { Issue.record("got \(String(describing: error))"); return }
        #expect(name == "mamba")
    }
}
