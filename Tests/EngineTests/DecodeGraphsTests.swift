import CPUBackend
import Engine
import Models
import OspreyTestSupport
import Tensors
import Testing

/// A CPU backend that "captures" graphs the way CUDA does for the engine's purposes: the captured
/// work reads its inputs from the static tensors the engine overwrites with `copy(_:into:)`, and a
/// replay writes into the output tensor returned at capture. Replaying re-runs the recorded body,
/// so decode steps go through `DecodeGraphs` (packing, padding to buckets, static buffers) on CI.
final class ReplayingBackend: Backend, @unchecked Sendable {
    let base = CPUBackend()
    /// What `memoryInfo` reports (nil: none, as on the CPU).
    var memory: (free: Int, total: Int)?
    /// Whether it samples "on the device", with `ReferenceSampler` (as the GPU does).
    var samples = false
    /// Whether its draws stay "on the device" until waited for, and can be fed into a later
    /// step's input ids there (async scheduling, as on the GPU).
    var keepsDraws = false
    private(set) var sampleCalls = 0
    /// "forward" as each forward pass begins, "wait" as each step's draws are waited for.
    private(set) var trace: [String] = []
    /// Waits that fail (counting from 1), as a device error would.
    var failingWaits: Set<Int> = []
    /// Whether it makes dummy matrices itself (`generateDummyMatrix`), as the GPU does; how many.
    var makesDummies = false
    private(set) var dummyMatrices = 0
    private(set) var captures = 0
    private(set) var replays = 0
    /// When each forward pass began (its embedding lookup), eager or replayed.
    private(set) var forwardTimes: [Double] = []
    /// Called as each forward pass begins, with how many have begun (tests hold the engine here).
    var beforeForward: ((Int) -> Void)?
    var name: String { "cpu (replaying graphs)" }
    var activationDType: DType { base.activationDType }

    final class Graph: CapturedGraph {
        let body: () throws -> Tensor
        let output: Tensor
        let owner: ReplayingBackend
        init(body: @escaping () throws -> Tensor, output: Tensor, owner: ReplayingBackend) {
            self.body = body
            self.output = output
            self.owner = owner
        }
        func replay() throws {
            owner.replays += 1
            let fresh = try body()
            (output.storage as! CPUStorage).pointer.advanced(by: output.offset)
                .copyMemory(from: (fresh.storage as! CPUStorage).pointer.advanced(by: fresh.offset), byteCount: fresh.byteCount)
        }
    }

    func memoryInfo() -> (free: Int, total: Int)? { memory }
    var supportsSampling: Bool { samples }
    func sample(_ logits: Tensor, rows: [RowSampling], edits: [LogitEdit]) throws -> [SampledToken] {
        sampleCalls += 1
        let flat = try base.download(logits), vocab = logits.lastDim
        let rowsOfLogits = (0..<logits.rows).map { Array(flat[$0 * vocab ..< ($0 + 1) * vocab]) }
        return ReferenceSampler.sample(rowsOfLogits, rows: rows, edits: edits)
    }
    var supportsAsyncScheduling: Bool { samples && keepsDraws }

    /// Draws made at once but handed out only by `wait` (or fed by `feedSampledTokens`).
    final class Draws: PendingSamples {
        let results: [SampledToken]
        let owner: ReplayingBackend
        init(_ results: [SampledToken], owner: ReplayingBackend) {
            self.results = results
            self.owner = owner
        }
        func wait() throws -> [SampledToken] {
            owner.trace.append("wait")
            if owner.failingWaits.contains(owner.trace.filter { $0 == "wait" }.count) {
                throw BackendError.failure("injected device error")
            }
            return results
        }
    }

    func enqueueSample(_ logits: Tensor, rows: [RowSampling], edits: [LogitEdit]) throws -> any PendingSamples {
        let results = try sample(logits, rows: rows, edits: edits)
        return keepsDraws ? Draws(results, owner: self) : ResolvedSamples(results)
    }

    func feedSampledTokens(_ samples: any PendingSamples, draws: [Int32], into ids: Tensor, rows: [Int32]) throws {
        let drawn = (samples as! Draws).results
        let p = (ids.storage as! CPUStorage).pointer.advanced(by: ids.offset).assumingMemoryBound(to: Int32.self)
        for (d, r) in zip(draws, rows) { p[Int(r)] = drawn[Int(d)].token }
    }

    var supportsGraphs: Bool { true }
    func capture(_ body: @escaping () throws -> Tensor) throws -> (graph: any CapturedGraph, output: Tensor)? {
        captures += 1
        let output = try body()
        return (Graph(body: body, output: output, owner: self), output)
    }
    func copy(_ host: HostTensor, into tensor: Tensor) throws {
        (tensor.storage as! CPUStorage).pointer.advanced(by: tensor.offset)
            .copyMemory(from: host.bytes.baseAddress!, byteCount: host.bytes.count)
    }
    func upload(_ host: HostTensor) throws -> Tensor { try base.upload(host) }
    /// The parts' `DummyValues` in bf16, made here rather than by the loader (as the GPU does);
    /// uploaded as the loader's host path uploads matrices (`uploadMatrix`'s default: `upload`).
    func generateDummyMatrix(shape: [Int], parts: [(seed: UInt64, count: Int)]) throws -> Tensor? {
        guard makesDummies else { return nil }
        dummyMatrices += 1
        var values: [Float] = []
        for part in parts { DummyValues.fill(seed: part.seed, range: 0 ..< part.count) { _, v in values.append(v) } }
        return try upload(HostTensor.f32(values, shape: shape).convertedToBF16())
    }
    func download(_ tensor: Tensor) throws -> [Float] { try base.download(tensor) }
    func allocateKVCache(numBlocks: Int, blockSize: Int, numKVHeads: Int, headDim: Int, dtype: DType) throws -> KVCacheLayer {
        try base.allocateKVCache(numBlocks: numBlocks, blockSize: blockSize, numKVHeads: numKVHeads, headDim: headDim, dtype: dtype)
    }
    func embedding(_ table: Tensor, ids: Tensor) throws -> Tensor {
        forwardTimes.append(monotonicSeconds())
        trace.append("forward")
        beforeForward?(forwardTimes.count)
        return try base.embedding(table, ids: ids)
    }
    func linear(_ x: Tensor, weight: Tensor, bias: Tensor?) throws -> Tensor { try base.linear(x, weight: weight, bias: bias) }
    func rmsNorm(_ x: Tensor, weight: Tensor, eps: Float) throws -> Tensor { try base.rmsNorm(x, weight: weight, eps: eps) }
    func addRMSNorm(_ x: Tensor, residual: Tensor, weight: Tensor, eps: Float) throws -> Tensor {
        try base.addRMSNorm(x, residual: residual, weight: weight, eps: eps)
    }
    func add(_ a: Tensor, _ b: Tensor) throws -> Tensor { try base.add(a, b) }
    func siluAndMul(_ x: Tensor) throws -> Tensor { try base.siluAndMul(x) }
    func splitQKV(_ qkv: Tensor, numHeads: Int, numKVHeads: Int, headDim: Int, qNorm: Tensor?, kNorm: Tensor?,
                  eps: Float, positions: Tensor, table: RotaryTable, store: KVCacheStore?) throws -> (q: Tensor, k: Tensor, v: Tensor) {
        try base.splitQKV(qkv, numHeads: numHeads, numKVHeads: numKVHeads, headDim: headDim, qNorm: qNorm, kNorm: kNorm,
                          eps: eps, positions: positions, table: table, store: store)
    }
    func attention(q: Tensor, k: Tensor, v: Tensor, cache: KVCacheLayer, metadata: AttentionMetadata,
                   numHeads: Int, scale: Float, kvStored: Bool) throws -> Tensor {
        try base.attention(q: q, k: k, v: v, cache: cache, metadata: metadata, numHeads: numHeads, scale: scale, kvStored: kvStored)
    }
    func gatherRows(_ x: Tensor, indices: Tensor) throws -> Tensor { try base.gatherRows(x, indices: indices) }
    func selectExperts(_ logits: Tensor, routing: ExpertRouting, correctionBias: Tensor?) throws -> (ids: Tensor, weights: Tensor) {
        try base.selectExperts(logits, routing: routing, correctionBias: correctionBias)
    }
    func moe(_ x: Tensor, gateUp: Tensor, down: Tensor, expertIds: Tensor, expertWeights: Tensor) throws -> Tensor {
        try base.moe(x, gateUp: gateUp, down: down, expertIds: expertIds, expertWeights: expertWeights)
    }
}

/// Decode steps replayed from captured graphs give exactly the tokens of eager steps, for batches
/// that fill a bucket and batches padded up to one, with requests finishing at different times.
struct DecodeGraphsTests {
    static let names = ["qwen3-untied", "llama-gqa", "qwen3moe-top2-norm-mlponly"]

    @Test(arguments: names)
    func replayedDecodeEqualsEagerDecode(_ name: String) throws {
        let prompts = try Fixtures.reference(name).prompts.map(\.ids)
        // Five requests (a bucket of 8, padded) with different lengths, so the batch shrinks
        // through buckets 4, 2 and 1 as they finish.
        let batch = prompts + prompts.prefix(2).map { Array($0.prefix(5)) }
        let lengths = [12, 7, 20, 3, 9]
        func run(_ backend: any Backend, eager: Bool) throws -> [[Int]] {
            var config = EngineConfig()
            config.maxModelLen = 256
            config.numBlocks = 128
            config.maxNumSeqs = 8
            config.enforceEager = eager
            let engine = try EngineCore(model: Fixtures.loadModel(name, backend: backend), config: config)
            let ids = try zip(batch, lengths).map { prompt, n in
                try engine.add(promptTokenIds: prompt, params: SamplingParams(temperature: 0, maxTokens: n, ignoreEos: true))
            }
            var out: [Int: [Int]] = [:]
            while engine.hasUnfinishedRequests {
                for step in try engine.step() { out[step.requestId, default: []] += step.newTokenIds }
            }
            return ids.map { out[$0] ?? [] }
        }
        let eager = try run(CPUBackend(), eager: true)
        let replaying = ReplayingBackend()
        let replayed = try run(replaying, eager: false)
        #expect(replayed == eager)
        #expect(replayed.map(\.count) == lengths)
        #expect(replaying.captures >= 3, "buckets 8, 4, 2 and 1 are each captured once")
        // Every step after the prefill is a pure decode step, and every one replays a graph.
        #expect(replaying.replays == lengths.max()! - 1)
    }
}

/// The KV cache of a backend that reports its memory gets `gpu_memory_utilization` of the total
/// minus what is in use after the profiling pass, in whole blocks (vLLM's rule).
struct KVCacheSizingTests {
    @Test func blocksComeFromTheMemoryLeftUnderTheUtilization() throws {
        let backend = ReplayingBackend()
        let model = try Fixtures.loadModel("qwen3-untied", backend: backend)
        let gib = 1 << 30
        backend.memory = (free: gib / 2, total: gib)
        var config = EngineConfig()
        config.maxModelLen = 512
        config.maxNumSeqs = 4096
        config.gpuMemoryUtilization = 0.9
        let engine = try EngineCore(model: model, config: config)
        let bytesPerBlock = 2 * model.numLayers * config.blockSize * model.numKVHeads * model.headDim * 4
        #expect(engine.kvCacheTokens == (Int(0.9 * Double(gib)) - gib / 2) / bytesPerBlock * config.blockSize)

        backend.memory = (free: gib / 20, total: gib)  // 95% in use already
        #expect(throws: EngineError.self) { try EngineCore(model: model, config: config) }
    }
}
