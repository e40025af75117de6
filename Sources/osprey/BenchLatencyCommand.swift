import ArgumentParser
import CUDABackend
import Tensors
import Engine
import Foundation

/// `osprey bench latency`: one batch of random prompts, prefill then decode, timed per phase
/// (vLLM's `benchmark_latency`), printed beside the memory-bandwidth floor.
struct BenchLatency: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "latency", abstract: "Time prefill and decode of one batch.")

    @OptionGroup var model: ModelOptions
    @Option(help: "Requests in the batch.") var batchSize = 1
    @Option(help: "Prompt tokens per request.") var inputLen = 128
    @Option(help: "Generated tokens per request.") var outputLen = 64
    @Option(help: "Timed iterations (after one warm-up).") var numIters = 3
    @Option(help: "Write the results as JSON to this file.") var outputJson: String?
    @Option(help: "Sampling temperature (vLLM's benchmarks sample at 1.0; 0 is greedy).") var temperature = 1.0
    @Option(help: "Top-k of each draw (0: off; Qwen3's generation_config asks 20).") var topK = 0
    @Option(help: "Nucleus mass of each draw (1: off; Qwen3's generation_config asks 0.95).") var topP = 1.0
    @Option(help: "Min-p of each draw (0: off).") var minP = 0.0
    @Option(help: "Presence penalty of each request (0: off).") var presencePenalty = 0.0
    @Option(help: "Frequency penalty of each request (0: off).") var frequencyPenalty = 0.0
    @Option(help: "Repetition penalty of each request (1: off).") var repetitionPenalty = 1.0
    @Flag(help: "Run decode steps eagerly instead of replaying captured CUDA graphs.") var enforceEager = false
    @Option(help: "Fraction of GPU memory for weights, activations and KV cache (GPU only).") var gpuMemoryUtilization = 0.9
    @Option(help: "KV cache element type: auto, fp8 or fp8_e4m3.") var kvCacheDtype = "auto"
    @Flag(inversion: .prefixedNo, help: "Schedule and launch each step while the GPU runs the one before (default: on the GPU).")
    var asyncScheduling: Bool?

    func validate() throws {
        do { _ = try EngineConfig.kvCacheDType(named: kvCacheDtype) } catch { throw ValidationError("\(error)") }
    }

    func run() throws {
        let t0 = monotonicSeconds()
        // As long a context as the run needs, unless --max-model-len asks for more.
        let loaded = try model.load(maxModelLen: model.maxModelLen ?? inputLen + outputLen + 16)
        let t1 = monotonicSeconds()
        let engine = try loaded.engine(maxNumSeqs: max(batchSize, 1)) {
            $0.enforceEager = enforceEager
            $0.gpuMemoryUtilization = gpuMemoryUtilization
            $0.kvCacheDType = try? EngineConfig.kvCacheDType(named: kvCacheDtype)
            $0.asyncScheduling = asyncScheduling
        }
        let ready = monotonicSeconds() - t0
        print(String(format: "ready in %.2f s (weights %.2f s, engine and KV cache %.2f s); KV cache %d tokens",
                     ready, t1 - t0, ready - (t1 - t0), engine.kvCacheTokens))
        print(engine.memorySummary(weightBytes: loaded.weightBytes))
        var rng = SystemRandomNumberGenerator()
        let vocab = loaded.model.config.vocabSize
        let params = SamplingParams(temperature: temperature, topP: topP, topK: topK, minP: minP, maxTokens: outputLen,
                                    ignoreEos: true, presencePenalty: presencePenalty,
                                    frequencyPenalty: frequencyPenalty, repetitionPenalty: repetitionPenalty)
        let kvBytesPerToken = Double(engine.kvCacheBytesPerToken)
        var prefillTimes: [Double] = [], decodeTimes: [Double] = []
        // What the decode steps had to read: weights once a step, each row's K/V up to its position;
        // and the same for the steps in which every request decodes (the batch before any has
        // finished), timed from the previous step's return (with a step in flight, the device's time).
        var decodeRead = DecodeReads(), fullRead = DecodeReads()
        var fullSteps: [Double] = []
        for iter in 0...numIters {
            let prompts = (0..<batchSize).map { _ in (0..<inputLen).map { _ in Int.random(in: 0..<vocab, using: &rng) } }
            for p in prompts { try engine.add(promptTokenIds: p, params: params) }
            let start = DispatchTime.now().uptimeNanoseconds
            // Decode is timed from the step that gives the last request its first token: with
            // chunked prefill, early requests decode while later prompts are still being prefilled
            // (and finish early, so the batch shrinks over the last steps: the floor counts each
            // step's own rows).
            var firstDone: UInt64 = 0
            var generated: [Int: Int] = [:]
            var reads = DecodeReads()
            var previous = start
            while engine.hasUnfinishedRequests {
                let outputs = try engine.step()
                let now = DispatchTime.now().uptimeNanoseconds
                if firstDone != 0 && !outputs.isEmpty {
                    var step = DecodeReads(steps: 1, tokens: outputs.count, weightBytes: loaded.weightBytesPerStep(batch: outputs.count))
                    for out in outputs { step.kvBytes += Double(inputLen + generated[out.requestId, default: 0]) * kvBytesPerToken }
                    reads.add(step)
                    if iter > 0 && outputs.count == batchSize {
                        fullRead.add(step)
                        fullSteps.append(Double(now - previous) / 1e9)
                    }
                }
                for out in outputs { generated[out.requestId, default: 0] += out.newTokenIds.count }
                if firstDone == 0 && generated.count >= batchSize { firstDone = now }
                previous = now
            }
            let end = DispatchTime.now().uptimeNanoseconds
            guard iter > 0 else { continue }
            prefillTimes.append(Double(firstDone - start) / 1e9)
            decodeTimes.append(Double(end - firstDone) / 1e9)
            decodeRead.add(reads)
        }
        let prefill = percentile(prefillTimes, 50)
        let decode = percentile(decodeTimes, 50)
        let decodeSteps = Double(outputLen - 1)
        let bandwidth = try DeviceBandwidth.measure(loaded.model.backend)
        let floorStep = decodeRead.floorPerStep(bandwidth)
        let measuredStep = decodeTimes.reduce(0, +) / Double(max(decodeRead.steps, 1))
        let averageBatch = Double(decodeRead.tokens) / Double(max(decodeRead.steps, 1))
        print("model: \(loaded.description)")
        print("batch \(batchSize), input \(inputLen), output \(outputLen), median of \(numIters)")
        print(String(format: "prefill (time to first token): median %.1f ms, p99 %.1f ms, %.1f tokens/s",
                     prefill * 1e3, percentile(prefillTimes, 99) * 1e3, Double(batchSize * inputLen) / prefill))
        print(String(format: "decode (time per output token): median %.2f ms, p99 %.2f ms; %.2f ms a step at %.1f rows on average, %.1f tokens/s",
                     decode / decodeSteps * 1e3, percentile(decodeTimes, 99) / decodeSteps * 1e3, measuredStep * 1e3, averageBatch,
                     Double(decodeRead.tokens) / decodeTimes.reduce(0, +)))
        print(String(format: "floor:   (%.1f MB of weights + %.1f MB of KV cache) per step on average / %.1f GB/s copy bandwidth on %@ = %.2f ms/step; decode at %.0f%% of floor",
                     decodeRead.weightBytes / Double(max(decodeRead.steps, 1)) / 1e6, decodeRead.kvBytes / Double(max(decodeRead.steps, 1)) / 1e6,
                     bandwidth / 1e9, loaded.model.backend.name, floorStep * 1e3, floorStep / measuredStep * 100))
        if !fullSteps.isEmpty {
            let step = percentile(fullSteps, 50), floor = fullRead.floorPerStep(bandwidth)
            print(String(format: "         with all %d rows decoding: median %.2f ms a step over %d steps; floor %.2f ms; at %.0f%% of floor",
                         batchSize, step * 1e3, fullSteps.count, floor * 1e3, floor / step * 100))
        }
        print("steps:   " + engine.timings.summary + ", \(engine.stats.numPreemptions) preemptions")
        if loaded.expertBytes > 0 {
            print(String(format: "         (mixture of experts: %.1f MB of %.1f MB of experts expected per step at batch %d, %d of %d experts per token)",
                         loaded.expertBytesPerStep(batch: batchSize) / 1e6, Double(loaded.expertBytes) / 1e6,
                         batchSize, loaded.model.config.numExpertsPerTok, loaded.model.config.numExperts))
        }
        if let outputJson {
            let object: [String: Any] = [
                "batch_size": batchSize, "input_len": inputLen, "output_len": outputLen,
                "median_ttft_ms": prefill * 1e3, "p99_ttft_ms": percentile(prefillTimes, 99) * 1e3,
                "median_tpot_ms": decode / decodeSteps * 1e3, "p99_tpot_ms": percentile(decodeTimes, 99) / decodeSteps * 1e3,
                "prefill_tokens_per_second": Double(batchSize * inputLen) / prefill,
                "decode_tokens_per_second": Double(decodeRead.tokens) / decodeTimes.reduce(0, +),
                "decode_ms_per_step": measuredStep * 1e3, "decode_average_batch": averageBatch,
                "floor_ms_per_step": floorStep * 1e3, "ready_seconds": ready, "device": loaded.model.backend.name,
            ]
            try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys]).write(to: URL(fileURLWithPath: outputJson))
        }
    }
}

/// The decode floor's bandwidth: a device-to-device copy on the GPU, a host copy on the CPU.
enum DeviceBandwidth {
    static func measure(_ backend: any Backend) throws -> Double {
        if let gpu = backend as? CUDABackend { return try gpu.measureCopyBandwidth() }
        return HostBandwidth.measure()
    }
}

/// Measured host memory bandwidth (bytes/s) for a large copy, the decode floor on the CPU.
enum HostBandwidth {
    static func measure(bytes: Int = 256 << 20) -> Double {
        let a = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
        let b = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
        defer { a.deallocate(); b.deallocate() }
        memset(a, 1, bytes)
        memset(b, 2, bytes)
        var best = Double.infinity
        for _ in 0..<5 {
            let t0 = DispatchTime.now().uptimeNanoseconds
            memcpy(b, a, bytes)
            best = min(best, Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
        }
        // A copy reads and writes each byte.
        return 2 * Double(bytes) / best
    }
}

/// Bytes the decode steps of a latency run read at the least, and how many steps and tokens.
private struct DecodeReads {
    var steps = 0, tokens = 0
    var weightBytes = 0.0, kvBytes = 0.0

    mutating func add(_ other: DecodeReads) {
        steps += other.steps; tokens += other.tokens
        weightBytes += other.weightBytes; kvBytes += other.kvBytes
    }

    /// Seconds a step at least takes reading its bytes at `bandwidth`, on average.
    func floorPerStep(_ bandwidth: Double) -> Double { (weightBytes + kvBytes) / Double(max(steps, 1)) / bandwidth }
}
