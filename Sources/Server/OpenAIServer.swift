import Engine
import Foundation
import Hummingbird
import Logging

/// The OpenAI-compatible HTTP server over one `AsyncLLM`.
public final class OpenAIServer: Sendable {
    public let engine: AsyncLLM
    public let config: ServerConfig
    public let metrics: ServerMetrics
    let startTime = Int(Date().timeIntervalSince1970)
    let generationDefaults: GenerationDefaults

    public init(engine: AsyncLLM, config: ServerConfig, metrics: ServerMetrics) {
        self.engine = engine
        self.config = config
        self.metrics = metrics
        generationDefaults = GenerationDefaults(engine.loaded.files.generationConfig)
    }

    var loaded: LoadedModel { engine.loaded }
    var modelName: String { config.servedModelNames.first ?? loaded.path }

    /// 404 unless `model` is one of the served names (absent means the default).
    func checkModel(_ model: String?) throws {
        guard let model, !config.servedModelNames.contains(model) else { return }
        throw APIError(.notFound, "The model `\(model)` does not exist.", param: "model")
    }

    public func makeRouter() -> Router<BasicRequestContext> {
        let router = Router()
        router.add(middleware: OpenAIErrorMiddleware(apiKeys: config.apiKeys))
        router.get("/health") { _, _ in Response(status: .ok) }
        router.get("/ping") { _, _ in Response(status: .ok) }
        router.get("/version") { _, _ in try JSON.response(["version": self.config.version]) }
        router.get("/v1/models") { _, _ in try JSON.response(self.modelList()) }
        router.get("/metrics") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                     body: ResponseBody(byteBuffer: ByteBuffer(string: self.metrics.render())))
        }
        router.get("/openapi.json") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/json"],
                     body: ResponseBody(byteBuffer: ByteBuffer(string: OpenAPISpec.json)))
        }
        router.get("/docs") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8"],
                     body: ResponseBody(byteBuffer: ByteBuffer(string: DocsPage.html)))
        }
        router.post("/tokenize") { request, _ in
            var request = request
            return try JSON.response(try self.tokenize(try await request.decodeJSON(TokenizeRequest.self, limit: self.config.maxRequestBodyBytes)))
        }
        router.post("/detokenize") { request, _ in
            var request = request
            return try JSON.response(try self.detokenize(try await request.decodeJSON(DetokenizeRequest.self, limit: self.config.maxRequestBodyBytes)))
        }
        router.post("/v1/completions") { request, _ in
            var request = request
            return try await self.completions(try await request.decodeJSON(CompletionRequest.self, limit: self.config.maxRequestBodyBytes))
        }
        router.post("/v1/chat/completions") { request, _ in
            var request = request
            return try await self.chatCompletions(try await request.decodeJSON(ChatCompletionRequest.self, limit: self.config.maxRequestBodyBytes))
        }
        return router
    }

    /// Serves until SIGINT or SIGTERM, then lets in-flight requests finish and stops the engine.
    public func run(logger: Logger) async throws {
        let app = Application(router: makeRouter(),
                              configuration: .init(address: .hostname(config.host, port: config.port), serverName: "osprey"),
                              logger: logger)
        try await app.runService()
        await engine.shutdown()
    }

    func modelList() -> ModelList {
        let created = startTime
        return ModelList(data: config.servedModelNames.map {
            ModelCard(id: $0, created: created, root: loaded.path, maxModelLen: engine.maxModelLen,
                      permission: [ModelPermission(id: "modelperm-\(UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased())", created: created)])
        })
    }

    /// Checks prompt length against the context: vLLM's messages, both numbers given.
    func checkLength(promptTokens: Int, maxTokens: Int?) throws {
        let limit = engine.maxModelLen
        if promptTokens >= limit {
            throw APIError.badRequest("This model's maximum context length is \(limit) tokens. However, your request has \(promptTokens) input tokens. Please reduce the length of the input messages.")
        }
        if let maxTokens, promptTokens + maxTokens > limit {
            throw APIError.badRequest("'max_tokens' or 'max_completion_tokens' is too large: \(maxTokens). This model's maximum context length is \(limit) tokens and your request has \(promptTokens) input tokens (\(maxTokens) > \(limit) - \(promptTokens)).", param: "max_tokens")
        }
    }

    /// Validated engine parameters for one prompt.
    func makeParams(_ fields: SamplingFields, maxTokens: Int?, defaultMaxTokens: Int?, logprobs: Int?, promptTokens: Int) throws -> SamplingParams {
        try checkLength(promptTokens: promptTokens, maxTokens: maxTokens)
        let room = engine.maxModelLen - promptTokens
        let params = try fields.samplingParams(maxTokens: min(maxTokens ?? defaultMaxTokens ?? room, room),
                                               logprobs: logprobs, defaults: generationDefaults)
        try params.validate(vocabSize: loaded.model.config.vocabSize, maxLogprobs: config.maxLogprobs)
        return params
    }

    /// Records a finished (or dropped) request in the metrics.
    func record(_ output: RequestOutput?, promptTokens: Int, outputTokens: Int) {
        let reason = output?.outputs.compactMap(\.finishReason).first
        metrics.observeRequest(promptTokens: promptTokens, outputTokens: outputTokens, metrics: output?.metrics,
                               finishReason: output?.finished == true ? reason : .abort)
    }

    static func newId(_ prefix: String) -> String {
        prefix + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
    }

    static var now: Int { Int(Date().timeIntervalSince1970) }
}

struct ModelPermission: Encodable {
    var id: String
    var object = "model_permission"
    var created: Int
    var allow_create_engine = false
    var allow_sampling = true
    var allow_logprobs = true
    var allow_search_indices = false
    var allow_view = true
    var allow_fine_tuning = false
    var organization = "*"
    @NullEncoded var group: String? = nil
    var is_blocking = false
}

struct ModelCard: Encodable {
    var id: String
    var object = "model"
    var created: Int
    var owned_by = "osprey"
    var root: String
    @NullEncoded var parent: String? = nil
    var max_model_len: Int
    var permission: [ModelPermission]

    init(id: String, created: Int, root: String, maxModelLen: Int, permission: [ModelPermission]) {
        self.id = id
        self.created = created
        self.root = root
        self.max_model_len = maxModelLen
        self.permission = permission
    }
}

struct ModelList: Encodable {
    var object = "list"
    var data: [ModelCard]
}
