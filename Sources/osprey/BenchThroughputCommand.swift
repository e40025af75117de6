import ArgumentParser
import CUDABackend
import Tensors
import Engine
import Foundation

/// `osprey bench throughput`: many random prompts through the engine at once (vLLM's
/// `benchmark_throughput`), beside the same work one request at a time with `--sequential`.
struct BenchThroughput: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "throughput", abstract: "Offline throughput over many prompts.")

    @OptionGroup var model: ModelOptions
    @OptionGroup var engineOptions: EngineOptions
    @Option(help: "Number of prompts.") var numPrompts = 64
    @Option(help: "Prompt tokens per request.") var inputLen = 128
    @Option(help: "Generated tokens per request.") var outputLen = 128
    @Option(help: "Only 'random' is supported.") var dataset = "random"
    @Flag(help: "Run the requests one at a time instead (the baseline).") var sequential = false
    @Option(help: "Write the results as JSON to this file.") var outputJson: String?
    @Option(help: "Sampling temperature (vLLM's benchmarks sample at 1.0; 0 is greedy).") var temperature = 1.0

    func run() throws {
        guard dataset == "random" else { throw ValidationError("only --dataset random is supported") }
        // As long a context as the run needs, unless --max-model-len asks for more.
        let loaded = try model.load(maxModelLen: model.maxModelLen ?? inputLen + outputLen + 16)
        var config = EngineConfig()
        engineOptions.apply(to: &config)
        let engine = try LLMEngine(loaded: loaded, config: config)
        var rng = SplitMix64(seed: 0)
        let vocab = loaded.model.config.vocabSize
        let prompts = (0..<numPrompts).map { _ in (0..<inputLen).map { _ in Int(rng.next() % UInt64(vocab)) } }
        let params = SamplingParams(temperature: temperature, maxTokens: outputLen, ignoreEos: true)
        var progress = Progress(total: numPrompts)
        engine.core.recordStepWork()
        let start = monotonicSeconds()
        var ttfts: [Double] = [], tpots: [Double] = []
        func drain() throws {
            while engine.hasUnfinishedRequests {
                for out in try engine.step() where out.finished {
                    let m = out.metrics
                    if let first = m.firstTokenTime, let end = m.finishedTime {
                        ttfts.append(first - m.arrivalTime)
                        tpots.append((end - first) / Double(max(outputLen - 1, 1)))
                    }
                    progress.advance()
                }
            }
        }
        for (i, prompt) in prompts.enumerated() {
            try engine.addRequest("\(i)", prompt: .tokens(prompt), params: params, outputKind: .finalOnly)
            if sequential { try drain() }
        }
        try drain()
        let elapsed = monotonicSeconds() - start
        progress.finish()
        let total = Double(numPrompts * (inputLen + outputLen)), generated = Double(numPrompts * outputLen)
        print("model: \(loaded.description)")
        print("\(numPrompts) prompts, \(inputLen) in / \(outputLen) out, \(sequential ? "one at a time" : "batched")")
        print(String(format: "elapsed %.2f s: %.2f requests/s, %.1f total tokens/s, %.1f output tokens/s",
                     elapsed, Double(numPrompts) / elapsed, total / elapsed, generated / elapsed))
        print(String(format: "TTFT median %.1f ms p99 %.1f ms; TPOT median %.2f ms p99 %.2f ms",
                     percentile(ttfts, 50) * 1e3, percentile(ttfts, 99) * 1e3, percentile(tpots, 50) * 1e3, percentile(tpots, 99) * 1e3))
        print("steps:   " + engine.core.timings.summary
              + ", \(engine.stats.numPreemptions) preemptions, KV cache \(engine.core.kvCacheTokens) tokens")
        var workloadFloor: Double?
        if let gpu = loaded.model.backend as? CUDABackend {
            // Every token (prompt or output) costs 2 FLOPs per weight it uses in the matrix products.
            let floor = WorkloadFloor(loaded: loaded, kvBytesPerKey: engine.core.kvCacheBytesPerToken, rate: try gpu.measureMatmulRate(),
                                      bandwidth: try gpu.measureCopyBandwidth())
            let ceiling = floor.rate / floor.matmulFlopsPerToken
            print(String(format: "floor:   %.1f GFLOP per token at %.0f TFLOP/s (bf16 matmul measured) = %.0f tokens/s; at %.0f%% of the FLOP ceiling",
                         floor.matmulFlopsPerToken / 1e9, floor.rate / 1e12, ceiling, total / elapsed / ceiling * 100))
            let work = engine.core.timings.work ?? []
            for line in floor.report(work) { print(line) }
            workloadFloor = floor.seconds(work)
        }
        if let outputJson {
            var object: [String: Any] = ["elapsed_time": elapsed, "num_requests": numPrompts,
                                         "requests_per_second": Double(numPrompts) / elapsed,
                                         "tokens_per_second": total / elapsed, "output_tokens_per_second": generated / elapsed,
                                         "median_ttft_ms": percentile(ttfts, 50) * 1e3, "median_tpot_ms": percentile(tpots, 50) * 1e3]
            if let workloadFloor { object["workload_floor_seconds"] = workloadFloor }
            try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys]).write(to: URL(fileURLWithPath: outputJson))
        }
    }
}

func percentile(_ values: [Double], _ p: Double) -> Double {
    guard !values.isEmpty else { return .nan }
    let sorted = values.sorted()
    return sorted[min(sorted.count - 1, Int((p / 100 * Double(sorted.count - 1)).rounded()))]
}

/// A one-line progress bar on stderr.
struct Progress {
    let total: Int
    var done = 0
    init(total: Int) { self.total = total }
    mutating func advance() {
        done += 1
        let width = 30, filled = total == 0 ? width : done * width / total
        FileHandle.standardError.write(Data("\r[\(String(repeating: "#", count: filled))\(String(repeating: ".", count: width - filled))] \(done)/\(total)".utf8))
    }
    func finish() { FileHandle.standardError.write(Data("\n".utf8)) }
}
