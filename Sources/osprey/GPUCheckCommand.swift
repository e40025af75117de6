import ArgumentParser
import CPUBackend
import CUDABackend
import Engine
import Foundation
import Models
import OspreyTestSupport
import Tensors

/// `osprey gpu-check`: the GPU test suite, built into the binary because the GPU machine has no
/// Swift toolchain (scripts/gpu-check.sh runs it there). Every fixture model on the GPU against
/// the transformers references and against the CPU backend; exits non-zero on any failure.
struct GPUCheck: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gpu-check", abstract: "Run the GPU test suite on the fixture models (needs CUDA).")

    @Option(help: "Folder of fixture checkpoints (default: OSPREY_FIXTURES or this checkout's).") var fixtures: String?
    @Option(help: "Greedy tokens per prompt.") var tokens = 24

    /// Log-probabilities are held to transformers' own bf16 run: its distance from the float32
    /// reference (Fixtures/bf16-baseline.json, from scripts/make_bf16_baseline.py) with 25% and
    /// 0.02 of slack on the maxima, 50% and 0.005 on the mean. Both sides round weights, activations and the residual stream to bf16, so the
    /// errors are of one size (0.2-0.7 over the whole vocabulary, mostly in the unlikely tail);
    /// the top-5 statistic is the one sampling sees. A real bug (wrong rotary layout, missing bias,
    /// bad block table) moves log-probabilities by several units.
    static func tolerance(_ baseline: Double) -> Float { Float(1.25 * baseline + 0.02) }
    /// Logit gap under which two greedy runs may pick differently: twice what transformers' own
    /// bf16 run moves the top log-probabilities of this model.
    static func nearTie(_ baseline: Baseline?) -> Float { Float(2 * (baseline?.top5 ?? 0.05)) }

    func run() throws {
        if let fixtures { setenv("OSPREY_FIXTURES", fixtures, 1) }
        let gpu = try CUDABackend()
        report("device: \(gpu.name), sm_\(gpu.computeCapability), \(gpu.multiprocessorCount) SMs")
        let cpu = CPUBackend()
        var failures: [String] = []
        func expect(_ ok: Bool, _ message: String) {
            report((ok ? "  ok    " : "  FAIL  ") + message)
            if !ok { failures.append(message) }
        }
        report("sampler (device vs host):")
        let samplingFailures = try checkSampling(gpu)
        for failure in samplingFailures.prefix(12) { report("    " + failure) }
        expect(samplingFailures.isEmpty, "device draws, ranks and top logprobs equal the host sampler's")
        report("decode attention fused with the q/k/v split (vs two launches):")
        if let fusedFailures = try checkFusedQKVAttention(gpu) {
            expect(fusedFailures.isEmpty, "fused q/k/v split + decode attention equals the two launches bit for bit (outputs, cache)")
        } else {
            report("  skip  the fused kernel is off here (OSPREY_FUSED_QKV_ATTENTION=0, OSPREY_DECODE_MMA=0 or before sm_80)")
        }
        if gpu.computeCapability >= 89 {
            let wrong = try checkE4M3Store(gpu)
            expect(wrong == 0, "E4M3 KV store: the 65536 bf16 values round as ml_dtypes does (\(wrong) differ)")
        }
        if let moe = try checkMoETiles(gpu) {
            // Both sum exact bf16 products in float, in different orders, and round h to bf16: a
            // few bf16 steps (2^-8 each) of the largest output at most; a wrong tile or pipeline
            // stage is off by the size of the outputs.
            expect(moe.relative <= 0.02, "MoE tiles on tensor cores equal the float kernels' within 2% of the largest output "
                   + "(\(moe.relative) of \(moe.largest))")
        } else {
            report("  skip  MoE tiles on tensor cores: off (OSPREY_MOE_MMA=1 turns them on; sm_80 and later)")
        }
        let dummyWrong = try checkDummyMatrix(gpu)
        expect(dummyWrong == 0, "dummy weights made on the device equal the host's (\(dummyWrong) of 3 parts differ)")
        let baselines = try Self.baselines(), fp8Baselines = try Self.baselines(file: "fp8-kv-baseline.json")
        let names = Fixtures.modelNames
        guard !names.isEmpty else { throw ValidationError("no fixtures found in \(Fixtures.directory.path)") }
        for name in names {
            report("\(name):")
            let reference = try Fixtures.reference(name)
            let onGPU = try Fixtures.loadModel(name, backend: gpu)
            let onCPU = try Fixtures.loadModel(name, backend: cpu)

            // 1. Log-probabilities of every prompt position against transformers.
            let stats = try logprobStats(onGPU, reference: reference, cpu: onCPU)
            expect(holds(stats, baselines[name], moe: onGPU.config.numExperts > 0),
                   describe(stats, baselines[name], against: "transformers bf16") + String(format: "; CPU f32: %.1e", stats.worstCPU))

            // 2. Greedy decoding through the engine (paged decode kernels) against the CPU's,
            // exact except where the CPU's own top-2 gap is inside the bf16 tolerance.
            let params = SamplingParams(temperature: 0, maxTokens: tokens, ignoreEos: true)
            let prompts = reference.prompts.map(\.ids)
            let gpuEngine = try engine(onGPU)
            let gpuOut = try gpuEngine.generate(prompts, params: params)
            let cpuOut = try engine(onCPU).generate(prompts, params: params)
            let (exact, ties, wrong) = try compare(gpuOut, cpuOut, prompts: prompts, judge: onCPU, nearTie: Self.nearTie(baselines[name]))
            expect(wrong == 0, "greedy vs CPU: \(exact) of \(prompts.count) prompts identical, \(ties) part at a near-tie, \(wrong) wrong")

            // 3. Batch invariance: alone or all together, the same tokens.
            let alone = try prompts.map { try engine(onGPU).generate([$0], params: params)[0] }
            expect(alone == gpuOut, "batch invariance: each prompt alone equals the batched run")

            // 3b. Async scheduling (on by default here: steps launched before the previous one's
            // tokens come back, fed into the inputs on the device) against steps one at a time.
            let oneAtATime = try engine(onGPU) { $0.asyncScheduling = false }.generate(prompts, params: params)
            expect(oneAtATime == gpuOut && gpuEngine.timings.aheadSteps > 0,
                   "async scheduling (\(gpuEngine.timings.aheadSteps) of \(gpuEngine.timings.steps) steps launched ahead) equals steps one at a time")
            // With penalties only the forward passes go ahead; the draws wait for the tokens before.
            let penalized = SamplingParams(temperature: 0, maxTokens: tokens, ignoreEos: true, presencePenalty: 2,
                                           frequencyPenalty: 2)
            let deferredEngine = try engine(onGPU)
            let deferredOut = try deferredEngine.generate(prompts, params: penalized)
            let deferredSync = try engine(onGPU) { $0.asyncScheduling = false }.generate(prompts, params: penalized)
            expect(deferredOut == deferredSync && deferredEngine.timings.deferredDraws > 0,
                   "with penalties, async scheduling (\(deferredEngine.timings.deferredDraws) steps with their draws after) equals steps one at a time")

            // 4. Prefix cache: a prompt that hits cached blocks gives what it gives from scratch.
            // The hit computes its last 3 tokens with the per-row kernel, the fresh run all of them
            // with the tiled one; both round probabilities to bf16 but in different groupings, so
            // equal up to near-ties.
            let long = Array((prompts.flatMap { $0 } + prompts.flatMap { $0 }).prefix(80))
            let cached = try engine(onGPU)
            _ = try cached.generate([long], params: params)
            let hit = try cached.generate([long + [5, 6, 7]], params: params)
            let fresh = try engine(onGPU, prefixCaching: false).generate([long + [5, 6, 7]], params: params)
            let p = try compare(hit, fresh, prompts: [long + [5, 6, 7]], judge: onGPU, nearTie: Self.nearTie(baselines[name]))
            expect(p.wrong == 0 && cached.stats.prefixCacheHits > 0,
                   "prefix-cache hit equals the uncached run (\(p.exact == 1 ? "identical" : "apart at a near-tie"))")

            // 5. Chunked prefill (chunks of 7 tokens mixed with decodes) changes nothing.
            // The per-row and the tiled attention kernels sum in different orders, so bf16 results
            // may differ in the last bit: equal up to near-ties.
            let chunked = try engine(onGPU) { $0.maxNumBatchedTokens = 7 }.generate(prompts, params: params)
            let c = try compare(chunked, gpuOut, prompts: prompts, judge: onGPU, nearTie: Self.nearTie(baselines[name]))
            expect(c.wrong == 0, "chunked prefill equals whole-prompt prefill (\(c.exact) identical, \(c.ties) part at a near-tie)")

            // 6. The FP8 (E4M3) KV cache: log-probabilities held to transformers' bf16 run with keys
            // and values rounded to E4M3 (fp8-kv-baseline.json), and the decode, prefix-hit and
            // chunked paths through the E4M3 kernels consistent with each other as above. The
            // maxima get twice the baseline: where two correct bf16 computations differ in the last
            // bit, a value near an E4M3 midpoint rounds to neighbours 12.5% apart, so single tail
            // log-probabilities scatter more than under bf16 (measured on an H100: 0.7-1.5x the
            // baseline over the 13 fixtures). The mean, within 3% of transformers' for every
            // fixture there, keeps its bf16 bound and is what separates a wrong kernel.
            guard gpu.computeCapability >= 89 else { report("  skip  FP8 KV cache: needs sm_89"); continue }
            let f8 = try logprobStats(onGPU, reference: reference, cpu: nil, kvCacheDType: .f8e4m3)
            expect(holds(f8, fp8Baselines[name], moe: onGPU.config.numExperts > 0, maximaSlack: 2),
                   "fp8 KV: " + describe(f8, fp8Baselines[name], against: "transformers bf16 + E4M3 K/V"))
            let fp8: (inout EngineConfig) -> Void = { $0.kvCacheDType = .f8e4m3 }
            let f8Out = try engine(onGPU, fp8).generate(prompts, params: params)
            let f8Alone = try prompts.map { try engine(onGPU, fp8).generate([$0], params: params)[0] }
            expect(f8Alone == f8Out, "fp8 KV: batch invariance")
            let f8Cached = try engine(onGPU, fp8)
            _ = try f8Cached.generate([long], params: params)
            let f8Hit = try f8Cached.generate([long + [5, 6, 7]], params: params)
            let f8Fresh = try engine(onGPU, prefixCaching: false, fp8).generate([long + [5, 6, 7]], params: params)
            let p8 = try compare(f8Hit, f8Fresh, prompts: [long + [5, 6, 7]], judge: onGPU, nearTie: Self.nearTie(fp8Baselines[name]))
            expect(p8.wrong == 0 && f8Cached.stats.prefixCacheHits > 0, "fp8 KV: prefix-cache hit equals the uncached run")
            let f8Chunked = try engine(onGPU) { $0.kvCacheDType = .f8e4m3; $0.maxNumBatchedTokens = 7 }.generate(prompts, params: params)
            let c8 = try compare(f8Chunked, f8Out, prompts: prompts, judge: onGPU, nearTie: Self.nearTie(fp8Baselines[name]))
            expect(c8.wrong == 0, "fp8 KV: chunked prefill equals whole-prompt prefill (\(c8.exact) identical, \(c8.ties) part at a near-tie)")
        }
        report(failures.isEmpty ? "gpu-check: all passed" : "gpu-check: \(failures.count) failed")
        if !failures.isEmpty { throw ExitCode(1) }
    }

    /// Compares greedy outputs `a` with `b`: identical, or diverging only where `judge`'s logits
    /// after the common prefix put `b`'s pick less than `nearTie` above `a`'s.
    func compare(_ a: [[Int]], _ b: [[Int]], prompts: [[Int]], judge: any CausalLM, nearTie: Float) throws -> (exact: Int, ties: Int, wrong: Int) {
        let vocab = judge.config.vocabSize
        var exact = 0, ties = 0, wrong = 0
        for (i, prompt) in prompts.enumerated() {
            if a[i] == b[i] { exact += 1; continue }
            let k = zip(a[i], b[i]).prefix { $0 == $1 }.count
            guard k < a[i].count, k < b[i].count else { wrong += 1; continue }
            let logits = try Fixtures.prefillLogits(judge, ids: prompt + b[i].prefix(k))
            let last = Array(logits[(prompt.count + k - 1) * vocab ..< (prompt.count + k) * vocab])
            let gap = last[b[i][k]] - last[a[i][k]]
            if gap < nearTie { ties += 1 } else { wrong += 1; report("    prompt \(i): diverges at token \(k), ahead by \(gap)") }
        }
        return (exact, ties, wrong)
    }

    struct Baseline { let all: Double, top5: Double, mean: Double }

    /// Every bf16 bit pattern stored into an E4M3 cache by the KV write kernel, read back, against
    /// ml_dtypes' rounding (Fixtures/e4m3-from-bf16.u8 and e4m3-values.f32, scripts/make_fp8_fixtures.py).
    /// Returns how many differ.
    func checkE4M3Store(_ gpu: CUDABackend) throws -> Int {
        let encoded = try [UInt8](Data(contentsOf: Fixtures.directory.appendingPathComponent("e4m3-from-bf16.u8")))
        let decoded = try Data(contentsOf: Fixtures.directory.appendingPathComponent("e4m3-values.f32"))
            .withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        let hd = 256, slots = 256
        let values = (0..<65536).map { Float(bitPattern: UInt32($0) << 16) }
        let cache = try gpu.allocateKVCache(numBlocks: slots, blockSize: 1, numKVHeads: 1, headDim: hd, dtype: .f8e4m3)
        let meta = try oneTokenPerSlot(slots, gpu)
        let kv = try gpu.upload(HostTensor.f32(values, shape: [slots, hd]).convertedToBF16())
        let q = try gpu.upload(HostTensor.f32([Float](repeating: 0, count: values.count), shape: [slots, hd]).convertedToBF16())
        _ = try gpu.attention(q: q, k: kv, v: kv, cache: cache, metadata: meta, numHeads: 1, scale: 1)
        let stored = try gpu.download(cache.key)
        var wrong = 0
        for i in values.indices {
            let want = decoded[Int(encoded[i])]
            if stored[i] != want && !(stored[i].isNaN && want.isNaN) {
                if wrong < 5 { report("    bf16 \(values[i]): stored \(stored[i]), ml_dtypes \(want)") }
                wrong += 1
            }
        }
        return wrong
    }

    /// A pass that stores one token in each of `slots` cache slots (block size 1, each its own sequence):
    /// how the checks fill a cache through the KV write kernel.
    func oneTokenPerSlot(_ slots: Int, _ gpu: CUDABackend) throws -> AttentionMetadata {
        try AttentionMetadata(blockSize: 1, positions: [Int32](repeating: 0, count: slots),
                              slotMapping: (0..<slots).map { Int32($0) }, queryStart: (0...slots).map { Int32($0) },
                              seqLens: [Int32](repeating: 1, count: slots), blockTables: (0..<slots).map { Int32($0) },
                              maxBlocksPerSeq: 1, backend: gpu)
    }

    /// A stacked dummy matrix (three parts, ragged sizes, several 64k-element chunks) made by
    /// `dummy_fill_bf16` against the host's `DummyWeights`, bit for bit. Returns how many parts differ.
    func checkDummyMatrix(_ gpu: CUDABackend) throws -> Int {
        let names = ["a.q_proj.weight", "a.k_proj.weight", "a.v_proj.weight"]
        let shapes = [[37, 4099], [5, 4099], [1, 4099]]
        let made = try gpu.generateDummyMatrix(shape: [43, 4099], parts: zip(names, shapes).map {
            (DummyValues.seed(name: $0), $1.reduce(1, *))
        })
        guard let made else { return names.count }
        let values = try gpu.download(made)
        var offset = 0, wrong = 0
        for (name, shape) in zip(names, shapes) {
            let f32 = try DummyWeights(shapes: [name: shape], dtype: .bf16).tensor(name).convertedToF32()
            let host = withExtendedLifetime(f32) { Array(f32.bytes.bindMemory(to: Float.self)) }
            if Array(values[offset ..< offset + host.count]) != host { wrong += 1 }
            offset += host.count
        }
        return wrong
    }

    struct LogprobStats { var worst: Float = 0, worstTop: Float = 0, worstCPU: Float = 0, total: Double = 0, count = 0 }

    /// Distances of `model`'s log-probabilities (every prompt position, whole vocabulary) from the
    /// float32 references; `cpu`'s largest distance too when given.
    func logprobStats(_ model: any CausalLM, reference: Fixtures.Reference, cpu: (any CausalLM)?,
                      kvCacheDType: DType? = nil) throws -> LogprobStats {
        let vocab = model.config.vocabSize
        var s = LogprobStats()
        for prompt in reference.prompts {
            let g = try Fixtures.prefillLogits(model, ids: prompt.ids, kvCacheDType: kvCacheDType)
            let c = try cpu.map { try Fixtures.prefillLogits($0, ids: prompt.ids) }
            for pos in prompt.ids.indices {
                let row = pos * vocab ..< (pos + 1) * vocab
                let ours = logSoftmax(Array(g[row])), cpuRow = c.map { logSoftmax(Array($0[row])) }
                let theirs = prompt.logprobs[pos]
                for i in theirs.indices {
                    s.worst = max(s.worst, abs(ours[i] - theirs[i]))
                    s.total += Double(abs(ours[i] - theirs[i]))
                    s.count += 1
                    if let cpuRow { s.worstCPU = max(s.worstCPU, abs(cpuRow[i] - theirs[i])) }
                }
                for i in theirs.indices.sorted(by: { theirs[$0] > theirs[$1] }).prefix(5) {
                    s.worstTop = max(s.worstTop, abs(ours[i] - theirs[i]))
                }
            }
        }
        return s
    }

    /// Within the baseline's tolerances. In a mixture of experts bf16 rounding flips some routing
    /// decisions (transformers' own bf16 run lands up to 6 nats off at those positions), so the
    /// maxima say little there; the mean over every position still separates rounding from a
    /// wrong kernel.
    func holds(_ s: LogprobStats, _ base: Baseline?, moe: Bool, maximaSlack: Float = 1) -> Bool {
        guard let base else { return false }
        let maximaHold = moe || (s.worst <= maximaSlack * Self.tolerance(base.all) && s.worstTop <= maximaSlack * Self.tolerance(base.top5))
        return maximaHold && s.total / Double(max(s.count, 1)) <= 1.5 * base.mean + 0.005
    }

    func describe(_ s: LogprobStats, _ base: Baseline?, against: String) -> String {
        guard let base else { return "no baseline (run scripts/make_bf16_baseline.py)" }
        return String(format: "log-probs vs transformers f32: max |Δ| %.3f (all tokens), %.3f (top 5), mean %.4f; ",
                      s.worst, s.worstTop, s.total / Double(max(s.count, 1)))
            + against + String(format: ": %.3f, %.3f, %.4f", base.all, base.top5, base.mean)
    }

    static func baselines(file: String = "bf16-baseline.json") throws -> [String: Baseline] {
        let url = Fixtures.directory.appendingPathComponent(file)
        guard let object = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any],
              let models = object["models"] as? [String: [String: Double]] else {
            throw ValidationError("\(url.path) is not a bf16 baseline")
        }
        return models.compactMapValues { m in
            guard let all = m["max_abs"], let top5 = m["top5_max_abs"], let mean = m["mean_abs"] else { return nil }
            return Baseline(all: all, top5: top5, mean: mean)
        }
    }

    func engine(_ model: any CausalLM, prefixCaching: Bool = true, _ configure: (inout EngineConfig) -> Void = { _ in }) throws -> EngineCore {
        var config = EngineConfig()
        config.maxModelLen = 512
        config.numBlocks = 256
        config.enablePrefixCaching = prefixCaching
        configure(&config)
        return try EngineCore(model: model, config: config)
    }
}

/// A line of gpu-check's output, written at once: stdout into a pipe is block-buffered, and a crash
/// would swallow the lines before it.
func report(_ line: String) { FileHandle.standardOutput.write(Data((line + "\n").utf8)) }
