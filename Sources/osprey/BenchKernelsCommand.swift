import ArgumentParser
import CPUBackend
import Engine
import Foundation
import Tensors

/// `osprey bench kernels`: CPU matmul throughput for the shapes of SmolLM2-135M (Q4_1 layers, Q8_0 lm-head),
/// at decode (n = 1) and prefill (n = 128), per shape and for the whole 30-layer model. Weights are random
/// but distinct per layer, so a decode step streams every byte as a real one does. Then one
/// mixture-of-experts layer of Qwen3-30B-A3B's shapes (`moe`).
struct BenchKernels: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kernels", abstract: "Measure CPU matmul kernels on SmolLM2-135M shapes")

    @Option(help: "Worker threads (the caller included)") var threads: Int = 2
    @Option(help: "Timed repetitions per measurement") var iterations: Int = 20
    @Option(help: "Transformer layers") var layers: Int = 30
    @Option(help: "Tokens of the prefill measurement") var prefill: Int = 128
    @Option(help: "Weight type of the MoE layer (q4_K, q4_1, q8_0, ...)") var moeDtype: String = "q4_K"

    static let hidden = 576, intermediate = 1536, kvDim = 192, vocab = 49152

    struct Shape {
        let name: String
        let m: Int, k: Int
        let dtype: DType
    }

    static let layerShapes: [Shape] = [
        Shape(name: "q_proj", m: hidden, k: hidden, dtype: .q4_1),
        Shape(name: "k_proj", m: kvDim, k: hidden, dtype: .q4_1),
        Shape(name: "v_proj", m: kvDim, k: hidden, dtype: .q4_1),
        Shape(name: "o_proj", m: hidden, k: hidden, dtype: .q4_1),
        Shape(name: "gate_proj", m: intermediate, k: hidden, dtype: .q4_1),
        Shape(name: "up_proj", m: intermediate, k: hidden, dtype: .q4_1),
        Shape(name: "down_proj", m: hidden, k: intermediate, dtype: .q4_1),
    ]
    static let lmHead = Shape(name: "lm_head", m: vocab, k: hidden, dtype: .q8_0)

    func run() throws {
        let backend = CPUBackend(threads: threads)
        var seed: UInt64 = 0x1234_5678
        func weight(_ s: Shape) throws -> Tensor {
            let bytes = OwnedBytes(count: s.dtype.byteCount(elements: s.m * s.k))
            let words = bytes.pointer.bindMemory(to: UInt64.self, capacity: bytes.count / 8)
            for i in 0..<(bytes.count / 8) {
                seed ^= seed << 13; seed ^= seed >> 7; seed ^= seed << 17
                words[i] = seed
            }
            // Sane f16 scales (0.01) and mins (-0.05) in every block so values stay finite.
            let raw = bytes.pointer.assumingMemoryBound(to: UInt16.self)
            let d = Float16(0.01).bitPattern, mn = Float16(-0.05).bitPattern
            for b in 0..<(bytes.count / s.dtype.blockBytes) {
                let base = b * s.dtype.blockBytes / 2
                raw[base] = d
                if s.dtype == .q4_1 || s.dtype == .q4_K { raw[base + 1] = mn }  // Q4_1 min, Q4_K dmin
            }
            return try backend.upload(HostTensor(shape: [s.m, s.k], dtype: s.dtype, bytes: bytes.buffer, owner: bytes))
        }
        let layerWeights = try (0..<layers).map { _ in try Self.layerShapes.map(weight) }
        let head = try weight(Self.lmHead)
        func activations(_ n: Int, _ k: Int) throws -> Tensor {
            try backend.upload(.f32((0..<(n * k)).map { Float(($0 * 7919) % 1000) / 1000 - 0.5 }, shape: [n, k]))
        }

        print("CPU kernels, \(threads) threads, SmolLM2-135M shapes (Q4_1 layers, Q8_0 lm_head)")
        let floor = HostBandwidth.measure() / 1e9
        print(String(format: "memory floor: single-thread memcpy of 256 MB, read + write = %.1f GB/s", floor))

        // Per-op overhead: a tiny op is all dispatch (Swift tensor allocation, pool wake-up, join).
        let tiny = try activations(1, Self.hidden)
        let (overhead, overheadMedian, _) = try time { _ = try backend.add(tiny, tiny) }
        print(String(format: "per-op overhead (add of %d floats): best %.2f us (median %.2f)", Self.hidden,
                     overhead * 1e6, overheadMedian * 1e6))

        for context in [256, 1024, 4096] { try benchAttention(backend, context: context) }
        try benchMoE(backend, weight: weight, floor: floor)

        // Per-shape figures (weights of layer 0 stay cache-hot across repetitions: a kernel-speed figure).
        for n in [1, prefill] {
            print("\nper shape, n = \(n):")
            for (i, s) in (Self.layerShapes + [Self.lmHead]).enumerated() {
                let w = i < Self.layerShapes.count ? layerWeights[0][i] : head
                let x = try activations(n, s.k)
                let (t, med, c) = try time { _ = try backend.linear(x, weight: w, bias: nil) }
                let bytes = Double(s.dtype.byteCount(elements: s.m * s.k)), flops = 2.0 * Double(n * s.m * s.k)
                print(String(format: "  %-9@ %5d x %4d %@  best %8.1f us (median %8.1f) %6.1f GB/s %6.1f GFLOP/s | cpu %8.1f us: %6.1f GB/s %6.1f GFLOP/s per cpu-second",
                             s.name as NSString, s.m, s.k, s.dtype.rawValue as NSString, t * 1e6, med * 1e6,
                             bytes / t / 1e9, flops / t / 1e9, c * 1e6, bytes / c / 1e9, flops / c / 1e9))
            }
        }

        // Whole model: every layer's distinct weights, as a forward pass streams them.
        var modelBytes = Double(head.byteCount)
        var modelParams = Double(head.count)
        for l in layerWeights { for w in l { modelBytes += Double(w.byteCount); modelParams += Double(w.count) } }
        for n in [1, prefill] {
            let xh = try activations(n, Self.hidden), xi = try activations(n, Self.intermediate)
            let (t, med, c) = try time {
                for l in layerWeights {
                    for (i, w) in l.enumerated() { _ = try backend.linear(i == 6 ? xi : xh, weight: w, bias: nil) }
                }
                _ = try backend.linear(xh, weight: head, bias: nil)
            }
            let flops = 2 * Double(n) * modelParams
            print(String(format: "\nwhole model matmuls, n = %d: best %.2f ms (median %.2f)  (%.1f MB of weights: %.1f GB/s, %.1f GFLOP/s)",
                         n, t * 1e3, med * 1e3, modelBytes / 1e6, modelBytes / t / 1e9, flops / t / 1e9))
            print(String(format: "  cpu time (all threads): %.2f ms (%.1f GB/s, %.1f GFLOP/s per cpu-second)", c * 1e3, modelBytes / c / 1e9, flops / c / 1e9))
            if n == 1 {
                print(String(format: "  floor at memcpy bandwidth: %.2f ms (ratio %.2f); goal 6 ms", modelBytes / floor / 1e6, t / (modelBytes / floor / 1e9)))
            } else {
                print(String(format: "  goal: 80 GFLOP/s effective (%.2f of it)", flops / t / 1e9 / 80))
            }
        }
    }

    /// Decode attention of one new token over `context` cached tokens, one layer of SmolLM2 (9 heads, 3 KV heads, 64).
    func benchAttention(_ backend: CPUBackend, context: Int) throws {
        let bs = 16, nh = 9, nkv = 3, hd = 64, blocks = (context + bs - 1) / bs
        let cache = try backend.allocateKVCache(numBlocks: blocks, blockSize: bs, numKVHeads: nkv, headDim: hd)
        let meta = try AttentionMetadata(blockSize: bs, positions: [Int32(context - 1)], slotMapping: [Int32(context - 1)],
                                         queryStart: [0, 1], seqLens: [Int32(context)],
                                         blockTables: (0..<blocks).map { Int32(blocks - 1 - $0) }, maxBlocksPerSeq: blocks,
                                         backend: backend)
        let q = try backend.upload(.f32([Float](repeating: 0.1, count: nh * hd), shape: [1, nh * hd]))
        let kv = try backend.upload(.f32([Float](repeating: 0.2, count: nkv * hd), shape: [1, nkv * hd]))
        let (t, med, c) = try time {
            _ = try backend.attention(q: q, k: kv, v: kv, cache: cache, metadata: meta, numHeads: nh, scale: 0.125)
        }
        let bytes = Double(2 * context * nkv * hd * 4)
        print(String(format: "decode attention, context %5d: best %7.1f us (median %7.1f), KV read %.1f GB/s | cpu %7.1f us",
                     context, t * 1e6, med * 1e6, bytes / t / 1e9, c * 1e6))
    }

    /// One routed-expert layer of Qwen3-30B-A3B (128 experts of 768, 8 per token, hidden 2048) in `--moe-dtype`:
    /// `Backend.moe` at decode and prefill, against the bytes of the experts the tokens use.
    func benchMoE(_ backend: CPUBackend, weight: (Shape) throws -> Tensor, floor: Double) throws {
        let experts = 128, k = 8, hidden = 2048, inter = 768
        guard let dtype = DType(rawValue: moeDtype), dtype != .i32 else { throw ValidationError("unknown --moe-dtype \(moeDtype)") }
        let gateUp = try weight(Shape(name: "gate_up", m: experts * 2 * inter, k: hidden, dtype: dtype))
            .reshaped([experts, 2 * inter, hidden])
        let down = try weight(Shape(name: "down", m: experts * hidden, k: inter, dtype: dtype)).reshaped([experts, hidden, inter])
        let expertBytes = Double(dtype.byteCount(elements: 3 * inter * hidden))
        print("\nmoe layer, Qwen3-30B-A3B shapes (\(experts) experts, \(k) per token, hidden \(hidden), expert \(inter), \(dtype)):")
        var rng = SplitMix64(seed: 42)
        for n in [1, prefill] {
            var ids: [Int32] = []
            for _ in 0..<n {
                var chosen = Set<Int32>()
                while chosen.count < k { chosen.insert(Int32(rng.next() % UInt64(experts))) }
                ids += chosen.sorted()
            }
            let used = Double(Set(ids).count)
            let x = try backend.upload(.f32((0..<(n * hidden)).map { Float(($0 * 7919) % 1000) / 1000 - 0.5 }, shape: [n, hidden]))
            let idTensor = try backend.upload(.i32(ids, shape: [n, k]))
            let w = try backend.upload(.f32([Float](repeating: 1.0 / Float(k), count: n * k), shape: [n, k]))
            let (t, med, c) = try time { _ = try backend.moe(x, gateUp: gateUp, down: down, expertIds: idTensor, expertWeights: w) }
            let bytes = used * expertBytes, flops = 2.0 * Double(n * k) * 3 * Double(inter * hidden)
            print(String(format: "  n = %3d (%3.0f experts used, %.1f MB): best %8.1f us (median %8.1f) %6.1f GB/s %6.1f GFLOP/s | cpu %8.1f us",
                         n, used, bytes / 1e6, t * 1e6, med * 1e6, bytes / t / 1e9, flops / t / 1e9, c * 1e6))
            if n == 1 {
                print(String(format: "    floor at memcpy bandwidth: %.1f us (ratio %.2f)", bytes / floor / 1e3, t / (bytes / floor / 1e9)))
            }
        }
    }

    /// Best wall time of `iterations` runs after one warm-up (the machine is shared: the minimum is the
    /// kernel's own speed, the median what neighbours left of it).
    /// Also records the best process CPU time (all threads together): the work the kernels did, which a busy
    /// machine disturbs far less than wall time. On a shared machine the workers may barely run, so CPU time
    /// divided by threads is not a wall-time estimate; CPU time itself is (it includes brief spinning).
    func time(_ body: () throws -> Void) throws -> (best: Double, median: Double, cpu: Double) {
        try body()
        var samples = [Double](), cpu = [Double]()
        for _ in 0..<iterations {
            let start = DispatchTime.now().uptimeNanoseconds, cpuStart = processCPUTime()
            try body()
            samples.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
            cpu.append(processCPUTime() - cpuStart)
        }
        samples.sort()
        return (samples[0], samples[samples.count / 2], cpu.min()!)
    }

    func processCPUTime() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}
