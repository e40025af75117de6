import Engine
import Foundation
import Prometheus
import Synchronization

/// Prometheus metrics with vLLM's names (`vllm:*`), so existing dashboards read them.
public final class ServerMetrics: Sendable {
    public let registry = PrometheusCollectorRegistry()
    let running: Gauge
    let waiting: Gauge
    let kvCacheUsage: Gauge
    let promptTokens: Counter
    let generationTokens: Counter
    let prefixQueries: Counter
    let prefixHits: Counter
    let preemptions: Counter
    let timeToFirstToken: ValueHistogram
    let timePerOutputToken: ValueHistogram
    let e2eLatency: ValueHistogram
    let successStop: Counter
    let successLength: Counter
    let successAbort: Counter
    private let last = Mutex((queries: 0, hits: 0, preemptions: 0))

    public init(modelName: String) {
        let model = [("model_name", modelName)]
        running = registry.makeGauge(name: "vllm:num_requests_running", labels: model, help: "Requests in the running batch.")
        waiting = registry.makeGauge(name: "vllm:num_requests_waiting", labels: model, help: "Requests waiting to be scheduled.")
        kvCacheUsage = registry.makeGauge(name: "vllm:kv_cache_usage_perc", labels: model, help: "Fraction of KV cache blocks in use (1 = full).")
        promptTokens = registry.makeCounter(name: "vllm:prompt_tokens_total", labels: model, help: "Prompt tokens processed.")
        generationTokens = registry.makeCounter(name: "vllm:generation_tokens_total", labels: model, help: "Tokens generated.")
        prefixQueries = registry.makeCounter(name: "vllm:prefix_cache_queries_total", labels: model, help: "Prompt tokens looked up in the prefix cache.")
        prefixHits = registry.makeCounter(name: "vllm:prefix_cache_hits_total", labels: model, help: "Prompt tokens found in the prefix cache.")
        preemptions = registry.makeCounter(name: "vllm:num_preemptions_total", labels: model, help: "Preemptions (recompute).")
        let latencyBuckets = [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20, 40, 80]
        timeToFirstToken = registry.makeValueHistogram(name: "vllm:time_to_first_token_seconds", labels: model, buckets: latencyBuckets,
                                                       help: "Time to first token.")
        timePerOutputToken = registry.makeValueHistogram(name: "vllm:time_per_output_token_seconds", labels: model,
                                                         buckets: [0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1, 2.5],
                                                         help: "Time per output token after the first.")
        e2eLatency = registry.makeValueHistogram(name: "vllm:e2e_request_latency_seconds", labels: model,
                                                 buckets: [0.3, 0.5, 0.8, 1, 1.5, 2, 2.5, 5, 10, 15, 20, 30, 40, 50, 60, 120],
                                                 help: "End-to-end request latency.")
        successStop = registry.makeCounter(name: "vllm:request_success_total", labels: model + [("finished_reason", "stop")], help: "Finished requests.")
        successLength = registry.makeCounter(name: "vllm:request_success_total", labels: model + [("finished_reason", "length")], help: "Finished requests.")
        successAbort = registry.makeCounter(name: "vllm:request_success_total", labels: model + [("finished_reason", "abort")], help: "Finished requests.")
    }

    /// The engine's per-step observer.
    public func observeStep(_ stats: EngineStats) {
        running.set(Double(stats.running))
        waiting.set(Double(stats.waiting))
        kvCacheUsage.set(stats.kvCacheUsage)
        let (dq, dh, dp) = last.withLock { l -> (Int, Int, Int) in
            defer { l = (stats.prefixCacheQueries, stats.prefixCacheHits, stats.numPreemptions) }
            return (stats.prefixCacheQueries - l.queries, stats.prefixCacheHits - l.hits, stats.numPreemptions - l.preemptions)
        }
        if dq > 0 { prefixQueries.increment(by: Int64(dq)) }
        if dh > 0 { prefixHits.increment(by: Int64(dh)) }
        if dp > 0 { preemptions.increment(by: Int64(dp)) }
    }

    /// A request's tokens and timings once it finished (or was dropped).
    func observeRequest(promptTokens prompt: Int, outputTokens: Int, metrics: RequestMetrics?, finishReason: FinishReason?) {
        promptTokens.increment(by: Int64(prompt))
        generationTokens.increment(by: Int64(outputTokens))
        switch finishReason {
        case .stop: successStop.increment()
        case .length: successLength.increment()
        case .abort, nil: successAbort.increment()
        }
        guard let metrics, let first = metrics.firstTokenTime else { return }
        timeToFirstToken.record(first - metrics.arrivalTime)
        if let finished = metrics.finishedTime {
            e2eLatency.record(finished - metrics.arrivalTime)
            if outputTokens > 1 { timePerOutputToken.record((finished - first) / Double(outputTokens - 1)) }
        }
    }

    public func render() -> String { registry.emitToString() }
}
