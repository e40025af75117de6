/// Rotary embedding tables, computed once per model by `Models` (scaling variants included) and
/// uploaded: `cos` and `sin` are [maxPositions, rotaryDim / 2] f32.
public struct RotaryTable: Sendable {
    public let cos: Tensor
    public let sin: Tensor
    /// Leading dimensions of each head that rotate (the rest pass through, as in partial rotary).
    public let rotaryDim: Int
    /// true: pairs (i, i + rotaryDim/2) rotate together (Hugging Face `rotate_half`, GPT-NeoX);
    /// false: pairs (2i, 2i + 1) rotate together (GPT-J / Meta's original layout).
    public let neoxStyle: Bool

    public init(cos: Tensor, sin: Tensor, rotaryDim: Int, neoxStyle: Bool) {
        self.cos = cos
        self.sin = sin
        self.rotaryDim = rotaryDim
        self.neoxStyle = neoxStyle
    }
}

/// The paged KV cache of one layer: `key` and `value` are [numBlocks, blockSize, numKVHeads, headDim]
/// in the backend's activation dtype, or f8e4m3 (`--kv-cache-dtype fp8`): stores round into it and
/// attention reads it back.
public struct KVCacheLayer: Sendable {
    public let key: Tensor
    public let value: Tensor

    public init(key: Tensor, value: Tensor) {
        self.key = key
        self.value = value
    }

    public var numBlocks: Int { key.shape[0] }
    public var blockSize: Int { key.shape[1] }
    public var numKVHeads: Int { key.shape[2] }
    public var headDim: Int { key.shape[3] }
}

/// Where `splitQKV` also stores each token's k and v: `cache` at `slotMapping` (i32 [n]; slots
/// below 0 are skipped), exactly as `attention` would store them. Saves decode a launch a layer.
public struct KVCacheStore: Sendable {
    public let cache: KVCacheLayer
    public let slotMapping: Tensor

    public init(cache: KVCacheLayer, slotMapping: Tensor) {
        self.cache = cache
        self.slotMapping = slotMapping
    }
}

public enum BackendError: Error, CustomStringConvertible {
    case unsupported(String)
    case outOfMemory(String)
    case failure(String)

    public var description: String {
        switch self {
        case .unsupported(let s): "unsupported by this backend: \(s)"
        case .outOfMemory(let s): "out of memory: \(s)"
        case .failure(let s): s
        }
    }
}

/// The operations a model needs, implemented once per device. Models are written only against this
/// protocol. Activations are 2-D [tokens, features] in `activationDType`; weights keep the dtype they
/// were loaded with (quantized ones stay quantized). Ops return new tensors unless they say in place.
public protocol Backend: AnyObject, Sendable {
    var name: String { get }
    /// dtype of activations and KV cache (f32 on the CPU).
    var activationDType: DType { get }

    // Memory
    /// Copies (or, where the backend can, aliases) host bytes onto the device, keeping the dtype.
    func upload(_ host: HostTensor) throws -> Tensor
    /// Copies a tensor back as f32 values (converting from f16/bf16; i32 values are converted too).
    func download(_ tensor: Tensor) throws -> [Float]
    /// Allocates a zero-filled paged KV cache for one layer whose elements are `dtype`: the
    /// activation dtype or f8e4m3; others throw `BackendError.unsupported`.
    func allocateKVCache(numBlocks: Int, blockSize: Int, numKVHeads: Int, headDim: Int, dtype: DType) throws -> KVCacheLayer
    /// Uploads a weight matrix, converting it where the backend's matrix kernels want another dtype
    /// (the GPU computes in bf16). Default: `upload`.
    func uploadMatrix(_ host: HostTensor) throws -> Tensor
    /// A bf16 matrix of `shape` holding `DummyValues` (`--load-format dummy`), made where it lives:
    /// each part (a tensor's seed and element count) fills the next elements, as stacked parts
    /// would. nil where the backend makes none (the loader then generates it on the host).
    func generateDummyMatrix(shape: [Int], parts: [(seed: UInt64, count: Int)]) throws -> Tensor?
    /// Free and total device memory in bytes, for sizing the KV cache; nil where the backend shares
    /// host memory (the CPU).
    func memoryInfo() -> (free: Int, total: Int)?
    /// Waits until all queued work is done (for timing; downloads wait on their own).
    func synchronize() throws
    /// Whether ops return before the device has run them (a GPU stream), so the host is free to
    /// do other work while a step runs; false where ops compute before returning (the CPU).
    var runsAsynchronously: Bool { get }
    /// Makes the backend usable from the calling thread (a GPU context is current per thread);
    /// a thread other than the one that made the backend calls it before its first op.
    func attachToCurrentThread() throws
    /// Overwrites the device buffer `tensor` with `host`'s bytes (static inputs of a captured graph).
    func copy(_ host: HostTensor, into tensor: Tensor) throws

    // Graphs
    /// Whether `capture` records work for replay (CUDA graphs); false on the CPU.
    var supportsGraphs: Bool { get }
    /// Records the device work `body` enqueues, without running it, as a graph to replay; returns
    /// it with `body`'s output, which each replay overwrites. nil where graphs are not supported.
    func capture(_ body: @escaping () throws -> Tensor) throws -> (graph: any CapturedGraph, output: Tensor)?

    // Sampling
    /// Whether `sample` runs here; false where copying logits to the host sampler costs no more.
    var supportsSampling: Bool { get }
    /// Draws one token for each of `rows` from f32 `logits` [n, vocab] after applying `edits`, and
    /// computes logprobs where a row asks for them (see `RowSampling`, `LogitEdit`); only the
    /// results come back to the host. Rows whose logits are all -inf draw token 0.
    func sample(_ logits: Tensor, rows: [RowSampling], edits: [LogitEdit]) throws -> [SampledToken]
    /// Whether `enqueueSample` returns before its draws are done and `feedSampledTokens` can put
    /// them into a later step's inputs on the device (async scheduling: the host schedules step
    /// N+1 while step N runs, without waiting for N's tokens).
    var supportsAsyncScheduling: Bool { get }
    /// `sample`, returning at once: the draws stay on the device, and `wait()` brings them back.
    func enqueueSample(_ logits: Tensor, rows: [RowSampling], edits: [LogitEdit]) throws -> any PendingSamples
    /// ids[rows[j]] = the token of draw `draws[j]` of `samples`, in device order: after the draw,
    /// before work enqueued later reads `ids` (i32).
    func feedSampledTokens(_ samples: any PendingSamples, draws: [Int32], into ids: Tensor, rows: [Int32]) throws

    // Ops
    /// Rows of `table` [vocab, hidden] picked by `ids` (i32 [n]) -> [n, hidden] in activationDType.
    func embedding(_ table: Tensor, ids: Tensor) throws -> Tensor
    /// x [n, k] times weight [m, k] transposed, plus bias [m] -> [n, m].
    func linear(_ x: Tensor, weight: Tensor, bias: Tensor?) throws -> Tensor
    /// The final projection to the vocabulary: like `linear` without bias, but the logits come back
    /// in f32 whatever the activation dtype (bf16 logits of magnitude 8 are 0.06 apart).
    func lmHead(_ x: Tensor, weight: Tensor) throws -> Tensor
    /// Root-mean-square norm of each row of x [n, d] times weight [d].
    func rmsNorm(_ x: Tensor, weight: Tensor, eps: Float) throws -> Tensor
    /// residual += x in place, then returns rmsNorm(residual).
    func addRMSNorm(_ x: Tensor, residual: Tensor, weight: Tensor, eps: Float) throws -> Tensor
    /// a + b, same shapes.
    func add(_ a: Tensor, _ b: Tensor) throws -> Tensor
    /// x [n, 2i] = [gate | up] -> silu(gate) * up [n, i].
    func siluAndMul(_ x: Tensor) throws -> Tensor
    /// Splits the fused q/k/v projection `qkv` [n, (numHeads + 2*numKVHeads)*headDim] (each row: the
    /// q heads, then the k heads, then the v heads) into contiguous q [n, numHeads*headDim] and k, v
    /// [n, numKVHeads*headDim], ready for `attention`. Each q head, then each k head:
    ///
    /// 1. when `qNorm` / `kNorm` (f32 [headDim]) is given: x * w / sqrt(mean(x²) + eps) (Qwen3);
    /// 2. the rotary embedding at `positions` (i32 [n], clamped to the table) over the first
    ///    `table.rotaryDim` dims, pairing (i, i + rotaryDim/2) when `table.neoxStyle`, else
    ///    (2i, 2i+1): a' = a·cos - b·sin, b' = b·cos + a·sin; the other dims pass through.
    ///
    /// Arithmetic is f32, rounded to activationDType once at the end. v is copied unchanged. numKVHeads may be 0 (k and v come back empty): a model whose q, k and v
    /// weights cannot share one matrix passes q and k through separately, k as the "q" of a second call.
    /// With `store`, k and v also go into the KV cache (then `attention` is told `kvStored`).
    func splitQKV(_ qkv: Tensor, numHeads: Int, numKVHeads: Int, headDim: Int, qNorm: Tensor?, kNorm: Tensor?,
                  eps: Float, positions: Tensor, table: RotaryTable, store: KVCacheStore?) throws -> (q: Tensor, k: Tensor, v: Tensor)
    /// Writes k and v [n, numKVHeads*headDim] into `cache` at `metadata.slotMapping` (unless
    /// `kvStored`: `splitQKV` stored them), then computes causal attention of q
    /// [n, numHeads*headDim] over each sequence's whole cached context -> [n, numHeads*headDim].
    /// GQA when numHeads > numKVHeads.
    func attention(q: Tensor, k: Tensor, v: Tensor, cache: KVCacheLayer, metadata: AttentionMetadata,
                   numHeads: Int, scale: Float, kvStored: Bool) throws -> Tensor
    /// `splitQKV` of the fused projection with k and v stored in `cache`, then `attention` of the
    /// q: one call, so that a backend may do both in one pass (the CUDA backend does for decode
    /// steps). Positions and slots come from `metadata`.
    func qkvAttention(_ qkv: Tensor, numHeads: Int, numKVHeads: Int, headDim: Int, qNorm: Tensor?, kNorm: Tensor?,
                      eps: Float, table: RotaryTable, cache: KVCacheLayer, metadata: AttentionMetadata,
                      scale: Float) throws -> Tensor
    /// Rows `indices` (i32 [m]) of x [n, d] -> [m, d].
    func gatherRows(_ x: Tensor, indices: Tensor) throws -> Tensor

    // Mixture of experts: a layer computes `logits = linear(x, router)`, then `selectExperts`, then
    // `moe` (plus any shared expert, an ordinary MLP the model adds itself).

    /// Chooses `routing.topK` experts per token from router logits [n, E] (f32) and returns their ids
    /// (i32 [n, topK]) and weights (f32 [n, topK]). For each token row:
    ///
    /// 1. score[e] = softmax(logits)[e] or sigmoid(logits[e]) (`routing.scoring`);
    /// 2. choice[e] = score[e] + correctionBias[e] (`correctionBias`: f32 [E], nil = 0); the bias
    ///    only steers which experts are chosen, never their weights;
    /// 3. when `routing.numGroups` > 1: the E experts form numGroups groups of E/numGroups
    ///    consecutive experts; a group's score is the sum of its two highest `choice` values; only
    ///    experts in the `routing.topKGroups` best groups stay eligible (ties: lower group first);
    /// 4. the `topK` eligible experts with the highest `choice` are chosen (ties: lower expert id
    ///    first); the order of a row's k slots is free (the CPU gives descending choice);
    /// 5. weight = score of each chosen expert; if `routing.normalize`, divided by
    ///    (sum of the chosen scores + 1e-20); then multiplied by `routing.scale`.
    ///
    /// Arithmetic is f32. Requirements: topK <= eligible experts, E divisible by numGroups, and at
    /// least 2 experts per group when numGroups > 1.
    func selectExperts(_ logits: Tensor, routing: ExpertRouting, correctionBias: Tensor?) throws -> (ids: Tensor, weights: Tensor)

    /// The routed experts' SwiGLU MLPs, weighted and summed per token.
    ///
    /// - x: [n, hidden] activations.
    /// - gateUp: [E, 2*I, hidden], expert e's gate projection in rows 0..<I and its up projection
    ///   in rows I..<2I (the layout of transformers' fused `gate_up_proj` and vLLM's `w13`).
    /// - down: [E, hidden, I].
    /// - expertIds: i32 [n, k], expertWeights: f32 [n, k] (from `selectExperts`).
    ///
    /// out[t] = Σ_j expertWeights[t, j] · down[e] · (silu(gate[e] · x[t]) ⊙ (up[e] · x[t])), e =
    /// expertIds[t, j]; slots whose id is outside 0..<E contribute nothing (padding, or experts
    /// another device owns). Returns [n, hidden] in activationDType. Weights may be in any dtype
    /// `linear` accepts; gateUp and down may differ. Implementations group the tokens by expert
    /// so each expert's weights are read once per call, and accumulate in f32.
    func moe(_ x: Tensor, gateUp: Tensor, down: Tensor, expertIds: Tensor, expertWeights: Tensor) throws -> Tensor
}

extension Backend {
    /// Defaults for backends without mixture-of-experts kernels yet: a MoE model fails on its first
    /// forward pass with a clear error rather than the backend failing to build.
    public func selectExperts(_ logits: Tensor, routing: ExpertRouting, correctionBias: Tensor?) throws -> (ids: Tensor, weights: Tensor) {
        throw BackendError.unsupported("selectExperts (mixture-of-experts routing) on \(name)")
    }

    public func moe(_ x: Tensor, gateUp: Tensor, down: Tensor, expertIds: Tensor, expertWeights: Tensor) throws -> Tensor {
        throw BackendError.unsupported("moe (mixture-of-experts layers) on \(name)")
    }
}

extension Backend {
    public func uploadMatrix(_ host: HostTensor) throws -> Tensor { try upload(host) }
    public func generateDummyMatrix(shape: [Int], parts: [(seed: UInt64, count: Int)]) throws -> Tensor? { nil }
    /// A KV cache in the activation dtype.
    public func allocateKVCache(numBlocks: Int, blockSize: Int, numKVHeads: Int, headDim: Int) throws -> KVCacheLayer {
        try allocateKVCache(numBlocks: numBlocks, blockSize: blockSize, numKVHeads: numKVHeads, headDim: headDim,
                            dtype: activationDType)
    }
    public func lmHead(_ x: Tensor, weight: Tensor) throws -> Tensor { try linear(x, weight: weight, bias: nil) }
    public func memoryInfo() -> (free: Int, total: Int)? { nil }
    public func synchronize() throws {}
    public var runsAsynchronously: Bool { false }
    public func attachToCurrentThread() throws {}
    public func copy(_ host: HostTensor, into tensor: Tensor) throws {
        throw BackendError.unsupported("\(name) has no static buffers to copy into")
    }
    public var supportsGraphs: Bool { false }
    public func capture(_ body: @escaping () throws -> Tensor) throws -> (graph: any CapturedGraph, output: Tensor)? { nil }
    public var supportsSampling: Bool { false }
    public func sample(_ logits: Tensor, rows: [RowSampling], edits: [LogitEdit]) throws -> [SampledToken] {
        throw BackendError.unsupported("sampling on \(name)")
    }
    public var supportsAsyncScheduling: Bool { false }
    public func enqueueSample(_ logits: Tensor, rows: [RowSampling], edits: [LogitEdit]) throws -> any PendingSamples {
        ResolvedSamples(try sample(logits, rows: rows, edits: edits))
    }
    public func feedSampledTokens(_ samples: any PendingSamples, draws: [Int32], into ids: Tensor, rows: [Int32]) throws {
        throw BackendError.unsupported("feeding drawn tokens into inputs on \(name)")
    }
}

/// Draws enqueued by `Backend.enqueueSample`, not yet brought back to the host.
public protocol PendingSamples: AnyObject {
    /// Waits for the draws (only them, not later work) and returns them, as `sample` would.
    func wait() throws -> [SampledToken]
}

/// Draws that were done before `enqueueSample` returned (backends that compute as they go).
public final class ResolvedSamples: PendingSamples {
    public let results: [SampledToken]
    public init(_ results: [SampledToken]) { self.results = results }
    public func wait() throws -> [SampledToken] { results }
}

/// Device work recorded once and replayed as one launch.
public protocol CapturedGraph: AnyObject {
    func replay() throws
}

extension Backend {
    /// `splitQKV` that leaves the KV cache alone.
    public func splitQKV(_ qkv: Tensor, numHeads: Int, numKVHeads: Int, headDim: Int, qNorm: Tensor?, kNorm: Tensor?,
                         eps: Float, positions: Tensor, table: RotaryTable) throws -> (q: Tensor, k: Tensor, v: Tensor) {
        try splitQKV(qkv, numHeads: numHeads, numKVHeads: numKVHeads, headDim: headDim, qNorm: qNorm, kNorm: kNorm,
                     eps: eps, positions: positions, table: table, store: nil)
    }

    public func qkvAttention(_ qkv: Tensor, numHeads: Int, numKVHeads: Int, headDim: Int, qNorm: Tensor?, kNorm: Tensor?,
                             eps: Float, table: RotaryTable, cache: KVCacheLayer, metadata: AttentionMetadata,
                             scale: Float) throws -> Tensor {
        try splitThenAttention(qkv, numHeads: numHeads, numKVHeads: numKVHeads, headDim: headDim, qNorm: qNorm, kNorm: kNorm,
                               eps: eps, table: table, cache: cache, metadata: metadata, scale: scale)
    }

    /// `qkvAttention` as two calls: `splitQKV` storing k and v, then `attention`.
    public func splitThenAttention(_ qkv: Tensor, numHeads: Int, numKVHeads: Int, headDim: Int, qNorm: Tensor?, kNorm: Tensor?,
                                   eps: Float, table: RotaryTable, cache: KVCacheLayer, metadata: AttentionMetadata,
                                   scale: Float) throws -> Tensor {
        let (q, k, v) = try splitQKV(qkv, numHeads: numHeads, numKVHeads: numKVHeads, headDim: headDim, qNorm: qNorm, kNorm: kNorm,
                                     eps: eps, positions: metadata.positionsTensor, table: table,
                                     store: KVCacheStore(cache: cache, slotMapping: metadata.slotMappingTensor))
        return try attention(q: q, k: k, v: v, cache: cache, metadata: metadata, numHeads: numHeads, scale: scale, kvStored: true)
    }

    /// `attention` that stores k and v itself.
    public func attention(q: Tensor, k: Tensor, v: Tensor, cache: KVCacheLayer, metadata: AttentionMetadata,
                          numHeads: Int, scale: Float) throws -> Tensor {
        try attention(q: q, k: k, v: v, cache: cache, metadata: metadata, numHeads: numHeads, scale: scale, kvStored: false)
    }
}
