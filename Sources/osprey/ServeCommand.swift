import ArgumentParser
import Engine
import Foundation
import Logging
import Server

/// `osprey serve [MODEL]`: the OpenAI-compatible server, with vLLM's flags and meanings.
struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve a model behind an OpenAI-compatible HTTP API (vLLM's flags).")

    @Argument(help: "A Hugging Face model directory or a .gguf file (default: SmolLM2-135M-Instruct).")
    var modelTag: String?
    @OptionGroup var model: ModelOptions

    @Option(help: "Address to listen on.") var host = "0.0.0.0"
    @Option(help: "Port to listen on.") var port = 8000
    @Option(parsing: .singleValue, help: "Required bearer token for /v1 routes (repeatable; also OSPREY_API_KEY / VLLM_API_KEY).")
    var apiKey: [String] = []
    @Option(parsing: .upToNextOption, help: "Names clients use as `model` (default: the model path).")
    var servedModelName: [String] = []
    @Option(help: "Maximum sequences per engine step.") var maxNumSeqs = 256
    @Option(help: "Token budget per engine step.") var maxNumBatchedTokens: Int?
    @Flag(inversion: .prefixedNo, help: "Reuse KV blocks of shared prompt prefixes.") var enablePrefixCaching = true
    @Option(help: "KV cache block size in tokens.") var blockSize = 16
    @Option(help: "Reasoning parser: deepseek_r1, qwen3, glm45.") var reasoningParser: String?
    @Option(help: "Tool call parser: hermes, glm45.") var toolCallParser: String?
    @Flag(help: "Let the model call tools when the request gives tools (needs --tool-call-parser).") var enableAutoToolChoice = false
    @Flag(help: "Accepted for compatibility (reasoning is on whenever --reasoning-parser is given).") var enableReasoning = false
    @Option(help: "Largest top_logprobs / logprobs a request may ask for (-1: no limit).") var maxLogprobs = 20
    @Option(help: "Weight dtype: auto, float32, float16, half, bfloat16 (CPU computes in its activation dtype).") var dtype = "auto"
    @Option(help: "Random seed (requests without a seed draw from fresh generators).") var seed: Int?
    @Option(help: "Fraction of GPU memory for the engine (GPU backends only).") var gpuMemoryUtilization = 0.9
    @Option(help: "KV cache element type: auto (the activation dtype), fp8 or fp8_e4m3 (E4M3, half of bf16's bytes; GPU).")
    var kvCacheDtype = "auto"
    @Option(help: "Tensor-parallel GPUs (GPU backends only).") var tensorParallelSize = 1
    @Option(help: "Largest request body in bytes (413 beyond).") var maxRequestBodyBytes = 32 << 20
    @Flag(help: "Accepted for compatibility; Osprey runs no remote code.") var trustRemoteCode = false
    @Flag(help: "Run decode steps eagerly instead of replaying captured CUDA graphs.") var enforceEager = false
    @Flag(help: "Process each step's outputs before launching the next step, instead of while the GPU runs it.")
    var disableAsyncOutputProc = false
    @Flag(inversion: .prefixedNo, help: "Schedule and launch each step while the GPU runs the one before (default: on the GPU).")
    var asyncScheduling: Bool?
    @Flag(help: "Accepted for compatibility.") var disableLogRequests = false
    @Flag(help: "Accepted for compatibility.") var disableLogStats = false
    @Flag(inversion: .prefixedNo, help: "Split long prefills across steps.") var enableChunkedPrefill = true
    @Option(help: "Accepted for compatibility (uvicorn's log level).") var uvicornLogLevel: String?

    func validate() throws {
        if !(gpuMemoryUtilization > 0 && gpuMemoryUtilization <= 1) {
            throw ValidationError("--gpu-memory-utilization must be in (0, 1], got \(gpuMemoryUtilization)")
        }
        do { _ = try EngineConfig.kvCacheDType(named: kvCacheDtype) } catch { throw ValidationError("\(error)") }
        if tensorParallelSize != 1 {
            throw ValidationError("--tensor-parallel-size \(tensorParallelSize): Osprey runs one device per process for now")
        }
        if !["auto", "float32", "float", "float16", "half", "bfloat16"].contains(dtype) {
            throw ValidationError("--dtype must be one of auto, float32, float16, half, bfloat16; got \(dtype)")
        }
        if enableAutoToolChoice && toolCallParser == nil {
            throw ValidationError("--enable-auto-tool-choice requires --tool-call-parser")
        }
        if let reasoningParser, !Self.reasoningParsers.contains(reasoningParser) {
            throw ValidationError("--reasoning-parser must be one of \(Self.reasoningParsers.joined(separator: ", ")); got \(reasoningParser)")
        }
        if let toolCallParser, !Self.toolParsers.contains(toolCallParser) {
            throw ValidationError("--tool-call-parser must be one of \(Self.toolParsers.joined(separator: ", ")); got \(toolCallParser)")
        }
        if modelTag != nil && model.model != nil { throw ValidationError("give the model either as an argument or with --model, not both") }
    }

    static var reasoningParsers: [String] { ReasoningParsers.names }
    static var toolParsers: [String] { ToolParsers.names }

    func run() throws {
        LoggingSystem.bootstrap { StreamLogHandler.standardError(label: $0) }
        var serverLogger = Logger(label: "osprey.serve")
        serverLogger.logLevel = .info
        let logger = serverLogger
        var options = model
        if let modelTag { options.model = modelTag }
        let loaded = try options.load()
        let path = loaded.path
        print("Loaded \(loaded.description)")
        if dtype != "auto" { print("Note: --dtype \(dtype): Osprey keeps bf16/f16 checkpoints as they are and computes in the backend's activation dtype (f32 on the CPU, bf16 on the GPU).") }

        var engineConfig = EngineConfig()
        engineConfig.maxModelLen = loaded.maxModelLen
        engineConfig.maxNumSeqs = maxNumSeqs
        engineConfig.blockSize = blockSize
        engineConfig.enablePrefixCaching = enablePrefixCaching
        engineConfig.enableChunkedPrefill = enableChunkedPrefill
        engineConfig.gpuMemoryUtilization = gpuMemoryUtilization
        engineConfig.enforceEager = enforceEager
        engineConfig.kvCacheDType = try? EngineConfig.kvCacheDType(named: kvCacheDtype)  // validated above
        if disableAsyncOutputProc { engineConfig.asyncOutputProcessing = false }
        engineConfig.asyncScheduling = asyncScheduling
        engineConfig.maxNumBatchedTokens = maxNumBatchedTokens ?? max(8192, enableChunkedPrefill ? 2048 : loaded.maxModelLen)
        let env = ProcessInfo.processInfo.environment
        if let gib = (env["OSPREY_CPU_KVCACHE_SPACE"] ?? env["VLLM_CPU_KVCACHE_SPACE"]).flatMap(Double.init), gib > 0 {
            engineConfig.kvCacheBytes = Int(gib * Double(1 << 30))
        }

        var config = ServerConfig(servedModelNames: servedModelName.isEmpty ? [options.model ?? path] : servedModelName)
        config.host = host
        config.port = port
        config.apiKeys = apiKey + [env["OSPREY_API_KEY"], env["VLLM_API_KEY"]].compactMap { $0 }.filter { !$0.isEmpty }
        config.maxRequestBodyBytes = maxRequestBodyBytes
        config.reasoningParser = reasoningParser
        config.toolCallParser = toolCallParser
        config.enableAutoToolChoice = enableAutoToolChoice
        config.maxLogprobs = maxLogprobs

        let metrics = ServerMetrics(modelName: config.servedModelNames[0])
        let engine = try AsyncLLM(loaded: loaded, config: engineConfig) { stats, _, _ in metrics.observeStep(stats) }
        print(engine.memorySummary)
        print("KV cache: \(engine.kvCacheTokens) tokens; max_model_len \(engine.maxModelLen); max_num_seqs \(maxNumSeqs)")
        print("Serving \(config.servedModelNames.joined(separator: ", ")) on http://\(host):\(port)/v1 (docs: /docs)"
              + (config.apiKeys.isEmpty ? "" : "; API key required"))
        fflush(nil)
        let server = OpenAIServer(engine: engine, config: config, metrics: metrics)
        try runBlocking { try await server.run(logger: logger) }
        print("Shut down cleanly.")
    }
}

/// Runs async work from a synchronous command (the root command is not async).
func runBlocking(_ body: @escaping @Sendable () async throws -> Void) throws {
    final class Outcome: @unchecked Sendable { var error: Error? }
    let outcome = Outcome()
    let done = DispatchSemaphore(value: 0)
    Task {
        do { try await body() } catch { outcome.error = error }
        done.signal()
    }
    done.wait()
    if let error = outcome.error { throw error }
}
