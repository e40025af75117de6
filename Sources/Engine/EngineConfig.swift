import Tensors

/// Engine limits, with vLLM's names and defaults where they apply.
public struct EngineConfig: Sendable {
    public var blockSize = 16
    public var maxNumSeqs = 256
    public var maxNumBatchedTokens = 8192
    /// Longest prompt + output; nil means the model's `max_position_embeddings`.
    public var maxModelLen: Int?
    public var enablePrefixCaching = true
    public var enableChunkedPrefill = true
    /// Bytes given to KV blocks (CPU; the GPU sizes from gpu_memory_utilization).
    public var kvCacheBytes = 4 << 30
    /// Fraction of device memory the engine may use (weights, activations, KV cache) on backends
    /// that report their memory (the GPU), as vLLM's `--gpu-memory-utilization`.
    public var gpuMemoryUtilization = 0.9
    /// Run every step eagerly (no captured decode graphs), as vLLM's `--enforce-eager`.
    public var enforceEager = false
    /// Process a step's outputs (detokenize, stop strings, `RequestOutput`s) while the device runs
    /// the next step, as vLLM's async output processing; outputs then come back one `step()` later.
    /// nil: on exactly where the backend runs asynchronously (on the CPU the forward pass runs
    /// inside the enqueue, so there is nothing to overlap). `--disable-async-output-proc` sets false.
    public var asyncOutputProcessing: Bool?
    /// Schedule and launch step N+1 while step N runs, its drawn tokens fed into N+1's inputs on
    /// the device (vLLM's `--async-scheduling`); steps that need N's tokens on the host
    /// (penalties, bad words, host-sampled rows) still wait. nil: on where the backend supports
    /// it (the GPU). `--async-scheduling` / `--no-async-scheduling`.
    public var asyncScheduling: Bool?
    /// Element type of the KV cache, as vLLM's `--kv-cache-dtype`: nil ("auto") is the backend's
    /// activation dtype; f8e4m3 ("fp8", "fp8_e4m3") halves the cache's bytes on the GPU.
    public var kvCacheDType: DType?
    /// Explicit block count (tests); overrides kvCacheBytes.
    public var numBlocks: Int?

    public init() {}
}

extension EngineConfig {
    /// `--kv-cache-dtype`'s values, as vLLM names them: "auto" (nil: the activation dtype), "fp8" and
    /// "fp8_e4m3" (E4M3). vLLM's other FP8 formats are not implemented and name what is.
    public static func kvCacheDType(named name: String) throws -> DType? {
        switch name {
        case "auto": return nil
        case "fp8", "fp8_e4m3": return .f8e4m3
        default:
            throw EngineError.invalidParameter("--kv-cache-dtype \(name) is not supported; use auto, fp8 or fp8_e4m3")
        }
    }

    /// The name vLLM gives `dtype` as a KV cache dtype (its logs say fp8_e4m3).
    public static func kvCacheDTypeName(_ dtype: DType) -> String {
        switch dtype {
        case .f8e4m3: "fp8_e4m3"
        case .bf16: "bfloat16"
        case .f16: "float16"
        case .f32: "float32"
        default: dtype.rawValue
        }
    }
}

public enum EngineError: Error, CustomStringConvertible, Equatable {
    case promptTooLong(tokens: Int, maxModelLen: Int)
    case emptyPrompt
    case invalidParameter(String)
    case kvCacheTooSmall(String)

    public var description: String {
        switch self {
        case .promptTooLong(let tokens, let maxModelLen):
            "This model's maximum context length is \(maxModelLen) tokens. However, your request has \(tokens) input tokens. Please reduce the length of the input."
        case .emptyPrompt: "The prompt is empty."
        case .invalidParameter(let s): s
        case .kvCacheTooSmall(let s): s
        }
    }
}
