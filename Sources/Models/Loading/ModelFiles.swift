import Foundation

/// Where weights come from (vLLM's `--load-format`).
public enum LoadFormat: String, Sendable, CaseIterable {
    /// A `.gguf` path → gguf; a directory → its safetensors, else its single `.gguf`.
    case auto
    case safetensors
    case gguf
    /// Config only; the architecture builds `DummyWeights` from its own parameter shapes.
    case dummy
}

/// A model on disk, opened: its configuration and a source of weights under Hugging Face names.
public struct ModelFiles: Sendable {
    public var config: ModelConfig
    public var generationConfig: GenerationConfig
    /// nil for `.dummy`.
    public var weights: (any WeightSource)?
    /// The GGUF file when the model came from one (its metadata carries the tokenizer and chat template).
    public var gguf: GGUFFile?
    /// The Hugging Face-layout directory (tokenizer.json, tokenizer_config.json...), when there is one.
    public var directory: URL?
    /// The format actually used (never `.auto`).
    public var loadFormat: LoadFormat

    /// Opens a directory in Hugging Face layout, a `.gguf` file, or one `.safetensors` file (with the
    /// `config.json` beside it).
    public static func load(path: String, loadFormat: LoadFormat = .auto) throws -> ModelFiles {
        let url = URL(fileURLWithPath: (path as NSString).expandingTildeInPath).standardizedFileURL
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
            throw ModelError.fileNotFound(path: url.path)
        }
        if !isDirectory.boolValue {
            if url.pathExtension == "safetensors" && loadFormat != .gguf {
                let directory = url.deletingLastPathComponent()
                return try fromSafetensors(directory: directory, loadFormat: loadFormat) {
                    try SafetensorsWeights(files: [url.path])
                }
            }
            return try fromGGUF(url, directory: nil, loadFormat: loadFormat)
        }

        let directory = url
        let hasConfig = FileManager.default.fileExists(atPath: directory.appendingPathComponent("config.json").path)
        // A Hugging Face directory (config.json or safetensors) wins in auto mode, even when GGUF
        // quantizations sit beside it.
        let useGGUF = switch loadFormat {
        case .gguf: true
        case .auto, .dummy: !hasConfig && !hasSafetensors(directory)
        case .safetensors: false
        }
        if useGGUF {
            guard let gguf = try ggufInDirectory(directory) else {
                throw ModelError.fileNotFound(path: directory.appendingPathComponent(hasConfig ? "*.gguf" : "config.json").path)
            }
            return try fromGGUF(gguf, directory: directory, loadFormat: loadFormat)
        }
        return try fromSafetensors(directory: directory, loadFormat: loadFormat) { try openSafetensors(directory) }
    }

    private static func fromGGUF(_ url: URL, directory: URL?, loadFormat: LoadFormat) throws -> ModelFiles {
        let file = try GGUFFile(url: firstShard(url))
        let config = try ModelConfig(gguf: file)
        let generation = try generationConfig(directory, config: config)
        let weights: (any WeightSource)? = loadFormat == .dummy ? nil : try GGUFWeights(file: file)
        return ModelFiles(config: config, generationConfig: generation, weights: weights, gguf: file,
                          directory: directory, loadFormat: loadFormat == .dummy ? .dummy : .gguf)
    }

    private static func fromSafetensors(directory: URL, loadFormat: LoadFormat,
                                        open: () throws -> SafetensorsWeights) throws -> ModelFiles {
        let config = try ModelConfig(contentsOf: directory.appendingPathComponent("config.json"))
        let generation = try generationConfig(directory, config: config)
        let weights: (any WeightSource)? = loadFormat == .dummy ? nil : try open()
        return ModelFiles(config: config, generationConfig: generation, weights: weights, gguf: nil,
                          directory: directory, loadFormat: loadFormat == .dummy ? .dummy : .safetensors)
    }

    /// `generation_config.json` when present; its missing bos/eos come from the model config.
    static func generationConfig(_ directory: URL?, config: ModelConfig) throws -> GenerationConfig {
        var generation = try directory.flatMap(readGenerationConfig) ?? GenerationConfig()
        if generation.eosTokenIds.isEmpty { generation.eosTokenIds = config.eosTokenIds }
        if generation.bosTokenId == nil { generation.bosTokenId = config.bosTokenId }
        return generation
    }

    static func readGenerationConfig(_ directory: URL) throws -> GenerationConfig? {
        let url = directory.appendingPathComponent("generation_config.json")
        guard FileManager.default.fileExists(atPath: url.path) else { return nil }
        return try GenerationConfig(contentsOf: url)
    }

    static func files(in directory: URL, withExtension ext: String) -> [URL] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.filter { $0.hasSuffix(".\(ext)") }.sorted().map { directory.appendingPathComponent($0) }
    }

    static func hasSafetensors(_ directory: URL) -> Bool {
        !files(in: directory, withExtension: "safetensors").isEmpty
            || FileManager.default.fileExists(atPath: directory.appendingPathComponent("model.safetensors.index.json").path)
    }

    /// The directory's one `.gguf` file (the first shard of a split model); several are ambiguous.
    static func ggufInDirectory(_ directory: URL) throws -> URL? {
        let found = files(in: directory, withExtension: "gguf")
        let shards = found.compactMap { splitShard($0.lastPathComponent) }
        if found.count > 1, shards.count == found.count, Set(shards.map(\.prefix)).count == 1,
           let first = found.first(where: { splitShard($0.lastPathComponent)?.index == 1 }) {
            return first
        }
        if found.count > 1 {
            throw ModelError.invalidConfig(path: directory.path,
                                           reason: "several .gguf files (\(found.map(\.lastPathComponent).joined(separator: ", "))); pass one file")
        }
        return found.first
    }

    /// `name-00002-of-00003.gguf` → ("name", 2, 3).
    static func splitShard(_ fileName: String) -> (prefix: Substring, index: Int, count: Int)? {
        guard fileName.hasSuffix(".gguf") else { return nil }
        let stem = fileName.dropLast(5)
        let parts = stem.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count >= 4, parts[parts.count - 2] == "of",
              parts[parts.count - 3].count == 5, let index = Int(parts[parts.count - 3]),
              parts[parts.count - 1].count == 5, let count = Int(parts[parts.count - 1]) else { return nil }
        return (stem.dropLast(parts[parts.count - 3].count + parts[parts.count - 1].count + 5), index, count)
    }

    /// A later shard of a split GGUF stands for the whole model: open its first shard.
    static func firstShard(_ url: URL) -> URL {
        guard let split = splitShard(url.lastPathComponent), split.index > 1 else { return url }
        return url.deletingLastPathComponent().appendingPathComponent(String(format: "%@-00001-of-%05d.gguf", String(split.prefix), split.count))
    }

    /// `model.safetensors.index.json` when present, else every `*.safetensors` file of the directory.
    static func openSafetensors(_ directory: URL) throws -> SafetensorsWeights {
        let index = directory.appendingPathComponent("model.safetensors.index.json")
        if FileManager.default.fileExists(atPath: index.path) {
            return try SafetensorsWeights(index: index)
        }
        let shards = files(in: directory, withExtension: "safetensors")
        guard !shards.isEmpty else {
            throw ModelError.fileNotFound(path: directory.appendingPathComponent("model.safetensors").path)
        }
        return try SafetensorsWeights(files: shards.map(\.path))
    }
}
