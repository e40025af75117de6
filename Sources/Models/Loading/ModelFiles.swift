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

    /// Opens a directory in Hugging Face layout or a `.gguf` file.
    public static func load(path: String, loadFormat: LoadFormat = .auto) throws -> ModelFiles {
        let url = URL(fileURLWithPath: (path as NSString).expandingTildeInPath).standardizedFileURL
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
            throw ModelError.fileNotFound(path: url.path)
        }
        let directory = isDirectory.boolValue ? url : nil
        let ggufURL = try isDirectory.boolValue ? ggufInDirectory(url) : url

        let useGGUF: Bool
        switch loadFormat {
        case .gguf:
            guard let ggufURL else { throw ModelError.fileNotFound(path: url.appendingPathComponent("*.gguf").path) }
            _ = ggufURL
            useGGUF = true
        case .safetensors:
            guard directory != nil else {
                throw ModelError.fileNotFound(path: url.appendingPathComponent("config.json").path)
            }
            useGGUF = false
        case .auto, .dummy:
            useGGUF = directory == nil || (!hasSafetensors(url) && ggufURL != nil
                && !FileManager.default.fileExists(atPath: url.appendingPathComponent("config.json").path))
        }

        if useGGUF, let ggufURL {
            let file = try GGUFFile(url: ggufURL)
            let config = try ModelConfig(gguf: file)
            var generation = try directory.flatMap(readGenerationConfig) ?? GenerationConfig()
            if generation.eosTokenIds.isEmpty { generation.eosTokenIds = config.eosTokenIds }
            if generation.bosTokenId == nil { generation.bosTokenId = config.bosTokenId }
            let weights: (any WeightSource)? = loadFormat == .dummy ? nil : try GGUFWeights(file: file)
            return ModelFiles(config: config, generationConfig: generation, weights: weights, gguf: file,
                              directory: directory, loadFormat: loadFormat == .dummy ? .dummy : .gguf)
        }

        guard let directory else { throw ModelError.fileNotFound(path: url.path) }
        let config = try ModelConfig(contentsOf: directory.appendingPathComponent("config.json"))
        var generation = try readGenerationConfig(directory) ?? GenerationConfig()
        if generation.eosTokenIds.isEmpty { generation.eosTokenIds = config.eosTokenIds }
        if generation.bosTokenId == nil { generation.bosTokenId = config.bosTokenId }
        let weights: (any WeightSource)? = loadFormat == .dummy ? nil : try openSafetensors(directory)
        return ModelFiles(config: config, generationConfig: generation, weights: weights, gguf: nil,
                          directory: directory, loadFormat: loadFormat == .dummy ? .dummy : .safetensors)
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

    /// The directory's one `.gguf` file; several are ambiguous.
    static func ggufInDirectory(_ directory: URL) throws -> URL? {
        let found = files(in: directory, withExtension: "gguf")
        if found.count > 1 {
            throw ModelError.invalidConfig(path: directory.path,
                                           reason: "several .gguf files (\(found.map(\.lastPathComponent).joined(separator: ", "))); pass one file")
        }
        return found.first
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
