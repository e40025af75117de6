import CPUBackend
import Engine
import Foundation
import Models
import OspreyTestSupport
import Tensors
import Testing

/// `--kv-cache-dtype fp8` through the engine on the CPU: the cache's bytes, the flag's names, and
/// log-probabilities of real fixture models held to transformers with E4M3-rounded keys and values.
@Suite struct FP8KVCacheEngineTests {
    let backend = CPUBackend(threads: 2)

    @Test func namesAreVLLMs() throws {
        #expect(try EngineConfig.kvCacheDType(named: "auto") == nil)
        #expect(try EngineConfig.kvCacheDType(named: "fp8") == .f8e4m3)
        #expect(try EngineConfig.kvCacheDType(named: "fp8_e4m3") == .f8e4m3)
        for unsupported in ["fp8_e5m2", "fp8_inc", "bfloat16", ""] {
            #expect(throws: EngineError.self) { try EngineConfig.kvCacheDType(named: unsupported) }
        }
    }

    /// One byte an element against float32's four, and the memory line says so.
    @Test func cacheTakesAQuarterOfFloat32() throws {
        let model = try Fixtures.loadModel("qwen3-untied", backend: backend)
        var config = EngineConfig()
        config.maxModelLen = 256
        config.numBlocks = 40
        let f32 = try EngineCore(model: model, config: config)
        config.kvCacheDType = .f8e4m3
        let f8 = try EngineCore(model: model, config: config)
        #expect(f8.kvCacheTokens == f32.kvCacheTokens)
        #expect(f8.kvCacheBytes * 4 == f32.kvCacheBytes)
        #expect(f8.kvCacheBytes == 40 * 16 * model.numLayers * 2 * model.numKVHeads * model.headDim)
        #expect(f8.memorySummary(weightBytes: 0).contains("fp8_e4m3"))
        #expect(!f32.memorySummary(weightBytes: 0).contains("fp8"))
    }

    /// Log-probabilities over every prompt position of three dense fixtures, prefilled into an E4M3
    /// cache, against the float32 references, under gpu-check's rule for the FP8 cache: transformers'
    /// bf16 run with keys and values rounded to E4M3 (fp8-kv-baseline.json) sets the yardstick;
    /// maxima within twice its tolerance (a value near an E4M3 midpoint may round either way between
    /// two correct computations), the mean within its bf16 bound. The float32 cache's run must sit
    /// well below, so the comparison sees the rounding (a cache that ignored the dtype would not move).
    @Test(arguments: ["qwen3-untied", "llama-gqa", "qwen2-bias-tied-v4config"])
    func logprobsHoldToTransformersWithRoundedKV(name: String) throws {
        let url = Fixtures.directory.appendingPathComponent("fp8-kv-baseline.json")
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
        let base = (json["models"] as! [String: [String: Double]])[name]!
        let model = try Fixtures.loadModel(name, backend: backend)
        let reference = try Fixtures.reference(name)
        func distances(_ dtype: DType?) throws -> (worst: Float, top: Float, mean: Double) {
            var worst: Float = 0, top: Float = 0, total = 0.0, count = 0
            for prompt in reference.prompts {
                let logits = try Fixtures.prefillLogits(model, ids: prompt.ids, kvCacheDType: dtype)
                let vocab = logits.count / prompt.ids.count
                for pos in prompt.ids.indices {
                    let ours = logSoftmax(Array(logits[pos * vocab ..< (pos + 1) * vocab])), theirs = prompt.logprobs[pos]
                    for i in theirs.indices {
                        worst = max(worst, abs(ours[i] - theirs[i]))
                        total += Double(abs(ours[i] - theirs[i]))
                        count += 1
                    }
                    for i in theirs.indices.sorted(by: { theirs[$0] > theirs[$1] }).prefix(5) { top = max(top, abs(ours[i] - theirs[i])) }
                }
            }
            return (worst, top, total / Double(count))
        }
        let f8 = try distances(.f8e4m3), f32 = try distances(nil)
        func tolerance(_ b: Double) -> Float { Float(2 * (1.25 * b + 0.02)) }
        #expect(f8.worst <= tolerance(base["max_abs"]!) && f8.top <= tolerance(base["top5_max_abs"]!),
                "max |Δ| \(f8.worst), top-5 \(f8.top); transformers bf16 + E4M3: \(base["max_abs"]!), \(base["top5_max_abs"]!)")
        #expect(f8.mean <= 1.5 * base["mean_abs"]! + 0.005, "mean |Δ| \(f8.mean); transformers bf16 + E4M3: \(base["mean_abs"]!)")
        #expect(f32.mean < f8.mean / 10, "float32 cache mean |Δ| \(f32.mean) against E4M3's \(f8.mean)")
    }
}
