import Foundation
import Models
import Tensors
import Templates
import Tokenizers

/// A model ready to serve: the network on its backend, its tokenizer and chat template, and the
/// defaults its authors ship (`generation_config.json`).
public final class LoadedModel {
    public let path: String
    public let files: ModelFiles
    public let model: any CausalLM
    public let tokenizer: Tokenizer
    public let chatTemplate: ChatTemplate?
    /// Bytes of weights a forward pass reads.
    public let weightBytes: Int
    public let maxModelLen: Int

    public static func load(path: String, loadFormat: LoadFormat = .auto, backend: any Backend,
                            maxModelLen: Int? = nil, chatTemplate override: String? = nil) throws -> LoadedModel {
        let files = try ModelFiles.load(path: path, loadFormat: loadFormat)
        let limit = files.config.maxPositionEmbeddings
        if let maxModelLen, maxModelLen > limit {
            throw EngineError.invalidParameter("max_model_len \(maxModelLen) exceeds the model's max_position_embeddings \(limit)")
        }
        let contextLength = maxModelLen ?? limit
        let weights = files.weights.map { WeightLoader(source: $0, backend: backend) }
            ?? WeightLoader(dummy: Self.dummyDType(files.config, backend), tiedEmbeddings: files.config.tieWordEmbeddings, backend: backend)
        let model = try ModelRegistry.load(config: files.config, weights: weights, maxPositions: contextLength)
        let tokenizer = try Self.tokenizer(files, path: path)
        let source: ChatTemplateSource? = override.map { .single($0) } ?? tokenizer.chatTemplate
        let template: ChatTemplate? = try source.map {
            switch $0 {
            case .single(let s): try ChatTemplate(source: s)
            case .named(let named): try ChatTemplate(named: named)
            }
        }
        return LoadedModel(path: path, files: files, model: model, tokenizer: tokenizer, chatTemplate: template,
                           weightBytes: weights.loadedBytes, maxModelLen: contextLength)
    }

    init(path: String, files: ModelFiles, model: any CausalLM, tokenizer: Tokenizer, chatTemplate: ChatTemplate?,
         weightBytes: Int, maxModelLen: Int) {
        self.path = path
        self.files = files
        self.model = model
        self.tokenizer = tokenizer
        self.chatTemplate = chatTemplate
        self.weightBytes = weightBytes
        self.maxModelLen = maxModelLen
    }

    /// Dummy weights take the checkpoint's dtype where the backend computes in it, else the
    /// activation dtype.
    static func dummyDType(_ config: ModelConfig, _ backend: any Backend) -> DType {
        switch config.torchDtype {
        case "float16": .f16
        case "bfloat16": .bf16
        default: backend.activationDType
        }
    }

    static func tokenizer(_ files: ModelFiles, path: String) throws -> Tokenizer {
        if let directory = files.directory,
           FileManager.default.fileExists(atPath: directory.appendingPathComponent("tokenizer.json").path) {
            return try Tokenizer(directory: directory)
        }
        if let gguf = files.gguf { return try Tokenizer(gguf: GGUFVocabulary(gguf)) }
        throw EngineError.invalidParameter("no tokenizer found for \(path) (expected tokenizer.json or a GGUF vocabulary)")
    }

    public var description: String {
        let c = model.config
        return "\(c.architecture) from \(path) (\(files.loadFormat.rawValue)): \(c.numHiddenLayers) layers, hidden \(c.hiddenSize), "
            + String(format: "%.1f MB of weights on %@", Double(weightBytes) / 1e6, model.backend.name)
    }

    /// An engine over this model.
    public func engine(maxNumSeqs: Int = 256, configure: (inout EngineConfig) -> Void = { _ in }) throws -> LLMEngine {
        var config = EngineConfig()
        config.maxModelLen = maxModelLen
        config.maxNumSeqs = maxNumSeqs
        configure(&config)
        return try LLMEngine(model: model, config: config, eosTokenIds: eosTokenIds)
    }

    /// End-of-sequence ids: generation_config.json's, else config.json's, else the tokenizer's.
    public var eosTokenIds: [Int] {
        if !files.generationConfig.eosTokenIds.isEmpty { return files.generationConfig.eosTokenIds }
        if !files.config.eosTokenIds.isEmpty { return files.config.eosTokenIds }
        return tokenizer.eosTokenId.map { [$0] } ?? []
    }

    public func encode(_ text: String, addSpecialTokens: Bool = true) -> [Int] {
        tokenizer.encode(text, addSpecialTokens: addSpecialTokens)
    }

    public func makeDetokenizer(promptIds: [Int] = [], skipSpecialTokens: Bool = true) -> IncrementalDetokenizer {
        IncrementalDetokenizer(tokenizer: tokenizer, skipSpecialTokens: skipSpecialTokens)
    }

    /// The prompt text the model's chat template makes of `messages` (decoded OpenAI JSON).
    public func applyChatTemplate(messages: Any, tools: Any? = nil, addGenerationPrompt: Bool = true,
                                  kwargs: [String: Any] = [:]) throws -> String {
        guard let chatTemplate else {
            throw EngineError.invalidParameter("the model has no chat template; pass --chat-template")
        }
        return try chatTemplate.render(messagesJSON: messages, toolsJSON: tools, addGenerationPrompt: addGenerationPrompt,
                                       bosToken: tokenizer.bosToken, eosToken: tokenizer.eosToken, extraContext: kwargs)
    }
}

extension GGUFVocabulary {
    /// The `tokenizer.ggml.*` metadata of a GGUF file.
    init(_ file: GGUFFile) throws {
        let m = file.metadata
        guard let model = m["tokenizer.ggml.model"]?.string, let tokens = m["tokenizer.ggml.tokens"]?.strings else {
            throw EngineError.invalidParameter("\(file.path) has no tokenizer (tokenizer.ggml.model / tokens)")
        }
        self.init(model: model, pre: m["tokenizer.ggml.pre"]?.string ?? "default", tokens: tokens,
                  scores: m["tokenizer.ggml.scores"]?.floats?.map { Float($0) } ?? [],
                  tokenTypes: m["tokenizer.ggml.token_type"]?.ints ?? [],
                  merges: m["tokenizer.ggml.merges"]?.strings ?? [],
                  bosTokenId: m["tokenizer.ggml.bos_token_id"]?.int, eosTokenId: m["tokenizer.ggml.eos_token_id"]?.int,
                  unknownTokenId: m["tokenizer.ggml.unknown_token_id"]?.int,
                  paddingTokenId: m["tokenizer.ggml.padding_token_id"]?.int,
                  addBosToken: m["tokenizer.ggml.add_bos_token"]?.bool ?? (model == "llama"),
                  addEosToken: m["tokenizer.ggml.add_eos_token"]?.bool ?? false,
                  addSpacePrefix: m["tokenizer.ggml.add_space_prefix"]?.bool ?? (model == "llama"),
                  chatTemplate: m["tokenizer.chat_template"]?.string)
    }
}
