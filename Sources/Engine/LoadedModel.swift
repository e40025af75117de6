import Foundation
import Models
import Tensors
import Templates
import Tokenizers

/// A model ready to serve: the network on its backend, its tokenizer and chat template, and the
/// defaults its authors ship (`generation_config.json`).
public final class LoadedModel: Sendable {
    public let path: String
    public let files: ModelFiles
    public let model: any CausalLM
    public let formatter: PromptFormatter
    /// Bytes of weights loaded (all of them, every expert included).
    public let weightBytes: Int
    /// The part of `weightBytes` that is routed experts of mixture-of-experts layers (0 when dense).
    public let expertBytes: Int
    /// The token embedding table when the LM head does not share it (0 when tied): a decode step
    /// reads only its tokens' rows of it.
    public let untiedEmbeddingBytes: Int
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
        let formatter = try PromptFormatter(files: files, path: path, chatTemplate: override)
        return LoadedModel(path: path, files: files, model: model, formatter: formatter,
                           weightBytes: weights.loadedBytes, expertBytes: weights.expertBytes,
                           untiedEmbeddingBytes: files.config.tieWordEmbeddings || !weights.contains("lm_head.weight") ? 0 : weights.embeddingBytes,
                           maxModelLen: contextLength)
    }

    /// A model built elsewhere (tests serve a scripted `CausalLM` with a real tokenizer this way).
    public init(path: String, files: ModelFiles, model: any CausalLM, formatter: PromptFormatter, weightBytes: Int, expertBytes: Int = 0,
                untiedEmbeddingBytes: Int = 0,
                maxModelLen: Int) {
        self.path = path
        self.files = files
        self.model = model
        self.formatter = formatter
        self.weightBytes = weightBytes
        self.expertBytes = expertBytes
        self.untiedEmbeddingBytes = untiedEmbeddingBytes
        self.maxModelLen = maxModelLen
    }

    public var tokenizer: Tokenizer { formatter.tokenizer }

    /// Bytes of weights one decode step of `batch` sequences reads: everything but the routed
    /// experts and an untied embedding table, plus the batch's rows of that table, plus
    /// `expertBytesPerStep`.
    public func weightBytesPerStep(batch: Int) -> Double {
        let c = model.config
        let embeddingRows = Double(untiedEmbeddingBytes) * Double(min(batch, c.vocabSize)) / Double(c.vocabSize)
        return Double(weightBytes - expertBytes - untiedEmbeddingBytes) + embeddingRows + expertBytesPerStep(batch: batch)
    }

    /// Routed-expert bytes a step of `batch` tokens is expected to read if routing were uniform:
    /// each of E experts is missed by all `batch` tokens, choosing k each, with probability
    /// (1 - k/E)^batch.
    public func expertBytesPerStep(batch: Int) -> Double {
        let c = model.config
        guard expertBytes > 0, c.numExperts > 0 else { return 0 }
        let used = 1 - pow(1 - Double(c.numExpertsPerTok) / Double(c.numExperts), Double(max(batch, 1)))
        return Double(expertBytes) * used
    }

    /// Weight elements one token multiplies in the matrix products (2 FLOPs each): all dense
    /// matrices but an untied embedding table (a gather), and k of E experts.
    public var matmulWeightBytesPerToken: Double {
        let c = model.config
        let share = c.numExperts > 0 ? Double(c.numExpertsPerTok) / Double(c.numExperts) : 1
        return Double(weightBytes - expertBytes - untiedEmbeddingBytes) + Double(expertBytes) * share
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

    public var description: String {
        let c = model.config
        return "\(c.architecture) from \(path) (\(files.loadFormat.rawValue)): \(c.numHiddenLayers) layers, hidden \(c.hiddenSize), "
            + String(format: "%.1f MB of weights on %@", Double(weightBytes) / 1e6, model.backend.name)
    }

    /// An engine over this model.
    public func engine(maxNumSeqs: Int = 256, configure: (inout EngineConfig) -> Void = { _ in }) throws -> EngineCore {
        var config = EngineConfig()
        config.maxModelLen = maxModelLen
        config.maxNumSeqs = maxNumSeqs
        configure(&config)
        return try EngineCore(model: model, config: config, eosTokenIds: eosTokenIds)
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

    /// A streaming detokenizer continuing after `promptIds` (so a first token's leading space survives).
    public func makeDetokenizer(promptIds: [Int] = [], skipSpecialTokens: Bool = true) -> IncrementalDetokenizer {
        IncrementalDetokenizer(tokenizer: tokenizer, skipSpecialTokens: skipSpecialTokens, context: promptIds)
    }

    public func applyChatTemplate(messages: Any, tools: Any? = nil, addGenerationPrompt: Bool = true,
                                  kwargs: [String: Any] = [:]) throws -> String {
        try formatter.applyChatTemplate(messages: messages, tools: tools, addGenerationPrompt: addGenerationPrompt, kwargs: kwargs)
    }
}
