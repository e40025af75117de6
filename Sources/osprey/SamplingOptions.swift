import ArgumentParser
import Engine
import Foundation

/// Every sampling parameter as a flag, with vLLM's names.
struct SamplingOptions: ParsableArguments {
    @Option(help: "Completions per prompt.") var n = 1
    @Option(help: "Tokens to generate at most.") var maxTokens: Int?
    @Option(help: "Tokens to generate at least (EOS and stop tokens banned before).") var minTokens = 0
    @Option(help: "Sampling temperature; 0 is greedy.") var temperature: Double?
    @Option(help: "Nucleus sampling mass.") var topP: Double?
    @Option(help: "Top-k sampling (0 or -1: off).") var topK: Int?
    @Option(help: "Min-p sampling.") var minP: Double?
    @Option(help: "Presence penalty.") var presencePenalty = 0.0
    @Option(help: "Frequency penalty.") var frequencyPenalty = 0.0
    @Option(help: "Repetition penalty.") var repetitionPenalty: Double?
    @Option(help: "Random seed.") var seed: UInt64?
    @Option(help: "Stop string (repeatable).") var stop: [String] = []
    @Option(help: "Stop token id (repeatable).") var stopTokenIds: [Int] = []
    @Flag(help: "Keep the stop string in the output.") var includeStopStrInOutput = false
    @Flag(help: "Keep generating past end-of-sequence tokens.") var ignoreEos = false
    @Option(help: "Top log-probabilities per generated token.") var logprobs: Int?
    @Option(help: "Top log-probabilities per prompt token.") var promptLogprobs: Int?
    @Flag(inversion: .prefixedNo, help: "Drop special tokens from the output text.") var skipSpecialTokens = true

    var params: SamplingParams {
        SamplingParams(n: n, temperature: temperature, topP: topP, topK: topK, minP: minP, seed: seed,
                       maxTokens: maxTokens, minTokens: minTokens, stop: stop, stopTokenIds: stopTokenIds,
                       includeStopStrInOutput: includeStopStrInOutput, ignoreEos: ignoreEos,
                       presencePenalty: presencePenalty, frequencyPenalty: frequencyPenalty,
                       repetitionPenalty: repetitionPenalty, logprobs: logprobs, promptLogprobs: promptLogprobs,
                       skipSpecialTokens: skipSpecialTokens)
    }
}

/// Engine limits as flags, with vLLM's names; they apply to the CPU backend too.
struct EngineOptions: ParsableArguments {
    @Option(help: "Most sequences in one step.") var maxNumSeqs = 256
    @Option(help: "Most tokens in one step (the prefill chunk budget).") var maxNumBatchedTokens = 8192
    @Option(help: "Tokens per KV block.") var blockSize = 16
    @Option(help: "Fix the number of KV blocks, whatever the device.") var numGpuBlocksOverride: Int?
    @Flag(inversion: .prefixedNo, help: "Reuse KV blocks of shared prompt prefixes.") var enablePrefixCaching = true
    @Option(help: "Fraction of GPU memory for weights, activations and KV cache (GPU only).") var gpuMemoryUtilization = 0.9
    @Flag(help: "Run decode steps eagerly instead of replaying captured CUDA graphs.") var enforceEager = false
    @Option(help: "Activation dtype: auto, float32 (the CPU computes in float32).") var dtype = "auto"
    @Option(help: "KV cache element type: auto (the activation dtype), fp8 or fp8_e4m3 (E4M3, half of bf16's bytes; GPU).")
    var kvCacheDtype = "auto"
    @Flag(help: "Process each step's outputs before launching the next step, instead of while the GPU runs it.")
    var disableAsyncOutputProc = false
    @Flag(inversion: .prefixedNo, help: "Schedule and launch each step while the GPU runs the one before (default: on the GPU).")
    var asyncScheduling: Bool?

    func validate() throws {
        guard gpuMemoryUtilization > 0 && gpuMemoryUtilization <= 1 else {
            throw ValidationError("--gpu-memory-utilization must be in (0, 1], got \(gpuMemoryUtilization)")
        }
        guard ["auto", "float32", "float", "bfloat16", "float16", "half"].contains(dtype) else {
            throw ValidationError("--dtype must be one of auto, float32, bfloat16, float16")
        }
        do { _ = try EngineConfig.kvCacheDType(named: kvCacheDtype) } catch { throw ValidationError("\(error)") }
    }

    func apply(to config: inout EngineConfig) {
        config.maxNumSeqs = maxNumSeqs
        config.maxNumBatchedTokens = maxNumBatchedTokens
        config.blockSize = blockSize
        config.numBlocks = numGpuBlocksOverride
        config.enablePrefixCaching = enablePrefixCaching
        config.gpuMemoryUtilization = gpuMemoryUtilization
        config.enforceEager = enforceEager
        if disableAsyncOutputProc { config.asyncOutputProcessing = false }
        config.asyncScheduling = asyncScheduling
        config.kvCacheDType = try? EngineConfig.kvCacheDType(named: kvCacheDtype)  // validated above
    }
}
