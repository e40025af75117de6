import Foundation
import Models
import Templates
import Tokenizers

/// Text ↔ tokens for one model: its tokenizer and chat template, from a Hugging Face directory
/// (tokenizer.json, tokenizer_config.json, chat_template.jinja) or a GGUF file's metadata.
public struct PromptFormatter: Sendable {
    public let tokenizer: Tokenizer
    public let chatTemplate: ChatTemplate?

    /// `chatTemplate` (the text of `--chat-template`) overrides the model's own.
    public init(files: ModelFiles, path: String, chatTemplate override: String? = nil) throws {
        if let directory = files.directory,
           FileManager.default.fileExists(atPath: directory.appendingPathComponent("tokenizer.json").path) {
            tokenizer = try Tokenizer(directory: directory)
        } else if let gguf = files.gguf {
            tokenizer = try Tokenizer(gguf: GGUFVocabulary(gguf))
        } else if files.loadFormat == .dummy {
            // Dummy weights from a bare config.json (benchmarks): any tokenizer serves random ids.
            tokenizer = try Tokenizer.byteLevel()
        } else {
            throw EngineError.invalidParameter("no tokenizer found for \(path) (expected tokenizer.json or a GGUF vocabulary)")
        }
        let source: ChatTemplateSource? = override.map { .single($0) } ?? tokenizer.chatTemplate
        chatTemplate = try source.map {
            switch $0 {
            case .single(let s): try ChatTemplate(source: s)
            case .named(let named): try ChatTemplate(named: named)
            }
        }
    }

    /// The prompt text the chat template makes of `messages` (decoded OpenAI JSON); `kwargs` are
    /// `chat_template_kwargs` such as `enable_thinking`.
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
