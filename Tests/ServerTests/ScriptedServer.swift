import Engine
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import Models
import OspreyTestSupport
import Server

/// The real `OpenAIServer` (router, engine, detokenizer, parsers) over a model that emits a chosen
/// text, with Qwen's real tokenizer and a real published chat template: what a chat route test
/// needs to pin the parsers' output on the wire.
struct ScriptedServer {
    /// Chat templates of `Tests/TemplatesTests/Fixtures/templates`.
    enum Template: String {
        case qwen3 = "qwen3"
        case deepSeekR1 = "deepseek-r1-distill-qwen"
        case glm45 = "glm-4.5"
    }

    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    /// `<|im_end|>` in the Qwen tokenizer fixture: the script's last token, the model's EOS.
    static let eosTokenId = 120002

    let loaded: LoadedModel
    /// The output's token ids and EOS: what the model emits.
    let script: [Int]

    init(template: Template, output: String) throws {
        let directory = try Self.modelDirectory()
        let files = try ModelFiles.load(path: directory.path, loadFormat: .dummy)
        let templateURL = Self.root.appendingPathComponent("Tests/TemplatesTests/Fixtures/templates/\(template.rawValue).jinja")
        let formatter = try PromptFormatter(files: files, path: directory.path,
                                            chatTemplate: String(contentsOf: templateURL, encoding: .utf8))
        let ids = formatter.tokenizer.encode(output, addSpecialTokens: false)
        // A script that does not decode back to the output would test the tokenizer, not the parsers.
        guard formatter.tokenizer.decode(ids) == output else {
            throw ScriptError.doesNotRoundTrip(output)
        }
        script = ids + [Self.eosTokenId]
        let model = ScriptedCausalLM(script: script, config: files.config)
        loaded = LoadedModel(path: directory.path, files: files, model: model, formatter: formatter,
                             weightBytes: 0, maxModelLen: files.config.maxPositionEmbeddings)
    }

    enum ScriptError: Error { case doesNotRoundTrip(String) }

    /// Runs `body` against a live server (a real socket on a free port) with these parsers.
    func serve<T: Sendable>(reasoningParser: String?, toolCallParser: String? = nil,
                            _ body: @Sendable (any TestClientProtocol) async throws -> T) async throws -> T {
        var engineConfig = EngineConfig()
        // What ScriptedCausalLM needs: no prefix caching, and blocks enough that nothing is preempted.
        engineConfig.enablePrefixCaching = false
        engineConfig.maxNumSeqs = 4
        engineConfig.numBlocks = 512
        let engine = try AsyncLLM(loaded: loaded, config: engineConfig)
        var config = ServerConfig(servedModelNames: ["scripted"])
        config.reasoningParser = reasoningParser
        config.toolCallParser = toolCallParser
        config.enableAutoToolChoice = toolCallParser != nil
        let server = OpenAIServer(engine: engine, config: config, metrics: ServerMetrics(modelName: "scripted"))
        var logger = Logger(label: "scripted-server")
        logger.logLevel = .warning
        let app = Application(router: server.makeRouter(), configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                              logger: logger)
        do {
            let result = try await app.test(.live, body)
            await engine.shutdown()
            return result
        } catch {
            await engine.shutdown()
            throw error
        }
    }

    /// A model directory shared by all tests (made once: a static is initialized exactly once): a
    /// config for the tokenizer's vocabulary, no weights (the scripted model has none), and links
    /// to the Qwen tokenizer fixture.
    static func modelDirectory() throws -> URL { try sharedDirectory.get() }

    private static let sharedDirectory = Result<URL, any Error> {
        let fm = FileManager.default
        let directory = fm.temporaryDirectory.appendingPathComponent("osprey-scripted-model-\(UUID().uuidString)")
        try fm.createDirectory(at: directory, withIntermediateDirectories: true)
        let tokenizer = root.appendingPathComponent("Tests/TokenizersTests/Fixtures/qwen")
        for name in ["tokenizer.json", "tokenizer_config.json"] {
            try fm.createSymbolicLink(at: directory.appendingPathComponent(name), withDestinationURL: tokenizer.appendingPathComponent(name))
        }
        try Data(config.utf8).write(to: directory.appendingPathComponent("config.json"))
        return directory
    }

    static let config = """
        {"architectures": ["Qwen3ForCausalLM"], "model_type": "qwen3", "vocab_size": 120026, "hidden_size": 8,
         "intermediate_size": 8, "num_hidden_layers": 1, "num_attention_heads": 1, "num_key_value_heads": 1,
         "head_dim": 8, "rms_norm_eps": 1e-6, "rope_theta": 1000000.0, "max_position_embeddings": 4096,
         "tie_word_embeddings": false, "eos_token_id": 120002, "bos_token_id": null}
        """
}
