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

    /// Tolerance in log-probability for bf16 weights and activations against float32 references.
    /// bf16 keeps 8 bits of mantissa: each rounding of an activation moves it by up to 2^-9
    /// relative; the tiny fixtures' logits span a few units, so a few layers of such rounding give
    /// |Δ log p| of order 1e-2. A real bug (wrong rotary layout, missing bias, bad block table)
    /// moves log-probabilities by 0.3 or more, as the same check on the CPU side shows (2e-4).
    static let tolerance: Float = 0.08

    func run() throws {
        if let fixtures { setenv("OSPREY_FIXTURES", fixtures, 1) }
        let gpu = try CUDABackend()
        print("device: \(gpu.name), sm_\(gpu.computeCapability), \(gpu.multiprocessorCount) SMs")
        let cpu = CPUBackend()
        var failures: [String] = []
        func expect(_ ok: Bool, _ message: String) {
            print((ok ? "  ok    " : "  FAIL  ") + message)
            if !ok { failures.append(message) }
        }
        let names = Fixtures.modelNames
        guard !names.isEmpty else { throw ValidationError("no fixtures found in \(Fixtures.directory.path)") }
        for name in names {
            print("\(name):")
            let reference = try Fixtures.reference(name)
            let onGPU = try Fixtures.loadModel(name, backend: gpu)
            let onCPU = try Fixtures.loadModel(name, backend: cpu)
            let vocab = onGPU.config.vocabSize

            // 1. Log-probabilities of every prompt position against transformers.
            var worst: Float = 0, worstCPU: Float = 0
            for prompt in reference.prompts {
                let g = try Fixtures.prefillLogits(onGPU, ids: prompt.ids)
                let c = try Fixtures.prefillLogits(onCPU, ids: prompt.ids)
                for pos in prompt.ids.indices {
                    let row = pos * vocab ..< (pos + 1) * vocab
                    let ours = logSoftmax(Array(g[row])), cpuRow = logSoftmax(Array(c[row]))
                    for (i, theirs) in prompt.logprobs[pos].enumerated() {
                        worst = max(worst, abs(ours[i] - theirs))
                        worstCPU = max(worstCPU, abs(cpuRow[i] - theirs))
                    }
                }
            }
            expect(worst < Self.tolerance, String(format: "log-probs vs transformers: max |Δ| %.4f (tolerance %.2f; CPU f32 %.1e)", worst, Self.tolerance, worstCPU))

            // 2. Greedy decoding through the engine (paged decode kernels) against the CPU's,
            // exact except where the CPU's own top-2 gap is inside the bf16 tolerance.
            let params = SamplingParams(temperature: 0, maxTokens: tokens, ignoreEos: true)
            let prompts = reference.prompts.map(\.ids)
            let gpuOut = try engine(onGPU).generate(prompts, params: params)
            let cpuOut = try engine(onCPU).generate(prompts, params: params)
            var exact = 0, ties = 0, wrong = 0
            for (i, prompt) in prompts.enumerated() {
                if gpuOut[i] == cpuOut[i] { exact += 1; continue }
                let k = zip(gpuOut[i], cpuOut[i]).prefix { $0 == $1 }.count
                let logits = try Fixtures.prefillLogits(onCPU, ids: prompt + cpuOut[i].prefix(k))
                let last = Array(logits[(prompt.count + k - 1) * vocab ..< (prompt.count + k) * vocab])
                let gap = last[cpuOut[i][k]] - last[gpuOut[i][k]]
                if gap < 2 * Self.tolerance { ties += 1 } else { wrong += 1; print("    prompt \(i): diverges at token \(k), CPU top-1 ahead by \(gap)") }
            }
            expect(wrong == 0, "greedy vs CPU: \(exact) of \(prompts.count) prompts identical, \(ties) part at a near-tie, \(wrong) wrong")

            // 3. Batch invariance: alone or all together, the same tokens.
            let alone = try prompts.map { try engine(onGPU).generate([$0], params: params)[0] }
            expect(alone == gpuOut, "batch invariance: each prompt alone equals the batched run")

            // 4. Prefix cache: a prompt that hits cached blocks gives what it gives from scratch.
            let long = Array((prompts.flatMap { $0 } + prompts.flatMap { $0 }).prefix(80))
            let cached = try engine(onGPU)
            _ = try cached.generate([long], params: params)
            let hit = try cached.generate([long + [5, 6, 7]], params: params)
            let fresh = try engine(onGPU, prefixCaching: false).generate([long + [5, 6, 7]], params: params)
            expect(hit == fresh, "prefix-cache hit equals the uncached run")

            // 5. Chunked prefill (chunks of 7 tokens mixed with decodes) changes nothing.
            let chunked = try engine(onGPU) { $0.maxNumBatchedTokens = 7 }.generate(prompts, params: params)
            expect(chunked == gpuOut, "chunked prefill equals whole-prompt prefill")
        }
        print(failures.isEmpty ? "gpu-check: all passed" : "gpu-check: \(failures.count) failed")
        if !failures.isEmpty { throw ExitCode(1) }
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
