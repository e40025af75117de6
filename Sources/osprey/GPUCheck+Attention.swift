import CUDABackend
import Engine
import Foundation
import Models
import Tensors

/// The decode attention fused with the q/k/v split (attention_decode_mma_qkv_d<D>) against the split
/// and the attention as two launches, on random data: the fused kernel rounds q to bf16 as the split
/// does and then runs the same code, so outputs and the cache's new rows must be equal bit for bit.
/// Contexts from 1 to 2,049 keys cross tile and split boundaries (few rows: many splits; 300 rows:
/// one split); one padding row has no slot (stores nothing) as graph padding does. From 256 rows the
/// split takes four tokens a warp (split_qkv_4x<K>), so the unfused side covers both of its entries.
extension GPUCheck {
    struct FusedAttentionCase {
        let heads: Int, kvHeads: Int, headDim: Int, rotaryDim: Int, neox: Bool, norms: Bool, contexts: [Int]
    }

    static let fusedAttentionCases: [FusedAttentionCase] = [
        // Qwen3-8B's heads (group 4, 128 dims, q/k norms), few rows of long and short contexts.
        FusedAttentionCase(heads: 8, kvHeads: 2, headDim: 128, rotaryDim: 128, neox: true, norms: true,
                           contexts: [1, 2, 15, 16, 17, 64, 65, 300, 1000, 2049]),
        // Group 8, 64 dims, partial rotary with GPT-J pairs, no norms; 300 rows: one split each.
        FusedAttentionCase(heads: 16, kvHeads: 2, headDim: 64, rotaryDim: 32, neox: false, norms: false,
                           contexts: (0..<300).map { 1 + ($0 * 37) % 200 }),
        // Qwen3-8B's heads again with 300 rows: the split's four-tokens-a-warp entry (prefill's) on
        // the unfused side. (The cache is filled by a pass of one row a slot: at most 65,535 slots.)
        FusedAttentionCase(heads: 8, kvHeads: 2, headDim: 128, rotaryDim: 128, neox: true, norms: true,
                           contexts: (0..<299).map { 1 + ($0 * 53) % 300 }),
    ]

    /// Returns a description of each case that differs (empty: all equal), or nil where the fused
    /// kernel is off.
    func checkFusedQKVAttention(_ gpu: CUDABackend) throws -> [String]? {
        guard gpu.fusesDecodeQKV else { return nil }
        var failures: [String] = []
        let dtypes: [DType] = gpu.computeCapability >= 89 ? [.bf16, .f8e4m3] : [.bf16]
        for (i, c) in Self.fusedAttentionCases.enumerated() {
            for dtype in dtypes {
                let differs = try fusedAttentionDiffers(gpu, c, dtype: dtype, seed: UInt64(i))
                report("    case \(i) (\(c.heads)/\(c.kvHeads) heads of \(c.headDim), \(c.contexts.count + 1) rows, \(dtype)): "
                       + (differs.isEmpty ? "equal" : differs.joined(separator: ", ")))
                if !differs.isEmpty { failures.append("case \(i) \(dtype)") }
            }
        }
        return failures
    }

    private func fusedAttentionDiffers(_ gpu: CUDABackend, _ c: FusedAttentionCase, dtype: DType, seed: UInt64) throws -> [String] {
        var rng = SplitMix64(seed: 77 + seed)
        func uniform(_ count: Int, _ scale: Float = 1) -> [Float] { (0..<count).map { _ in Float(rng.nextUnit() * 2 - 1) * scale } }
        let blockSize = 16, d = c.headDim, kvDim = c.kvHeads * d, maxPos = 4096
        // Each sequence's blocks from a shuffled pool; a padding row last (context 1, no slot, block 0).
        let blocksPer = c.contexts.map { ($0 + blockSize - 1) / blockSize }, maxBlocks = blocksPer.max()!
        var pool = Array(0..<blocksPer.reduce(0, +))
        pool.shuffle(using: &rng)
        let numBlocks = pool.count, slots = numBlocks * blockSize
        var tables = [Int32](repeating: 0, count: (c.contexts.count + 1) * maxBlocks), next = 0
        for (s, count) in blocksPer.enumerated() {
            for j in 0..<count { tables[s * maxBlocks + j] = Int32(pool[next]); next += 1 }
        }
        let ctx = c.contexts + [1]
        let positions = ctx.map { Int32($0 - 1) }
        let newSlots = ctx.enumerated().map { s, len -> Int32 in
            s == c.contexts.count ? -1 : tables[s * maxBlocks + (len - 1) / blockSize] * Int32(blockSize) + Int32((len - 1) % blockSize)
        }
        let n = ctx.count
        let meta = try AttentionMetadata(blockSize: blockSize, positions: positions, slotMapping: newSlots,
                                         queryStart: (0...n).map { Int32($0) }, seqLens: ctx.map { Int32($0) },
                                         blockTables: tables, maxBlocksPerSeq: maxBlocks, backend: gpu)

        // Two caches with the same random contents in every slot (stored by a one-token pass per slot).
        let cacheKeys = uniform(slots * kvDim, 2), cacheValues = uniform(slots * kvDim, 2)
        let fill = try oneTokenPerSlot(slots, gpu)
        let k0 = try gpu.upload(HostTensor.f32(cacheKeys, shape: [slots, kvDim]).convertedToBF16())
        let v0 = try gpu.upload(HostTensor.f32(cacheValues, shape: [slots, kvDim]).convertedToBF16())
        let q0 = try gpu.upload(HostTensor.f32([Float](repeating: 0, count: slots * kvDim), shape: [slots, kvDim]).convertedToBF16())
        var caches: [KVCacheLayer] = []
        for _ in 0..<2 {
            let cache = try gpu.allocateKVCache(numBlocks: numBlocks, blockSize: blockSize, numKVHeads: c.kvHeads, headDim: d, dtype: dtype)
            _ = try gpu.attention(q: q0, k: k0, v: v0, cache: cache, metadata: fill, numHeads: c.kvHeads, scale: 1)
            caches.append(cache)
        }

        let qkv = try gpu.upload(HostTensor.f32(uniform(n * (c.heads + 2 * c.kvHeads) * d, 3),
                                                shape: [n, (c.heads + 2 * c.kvHeads) * d]).convertedToBF16())
        let qNorm = c.norms ? try gpu.upload(.f32(uniform(d, 0.5).map { 1 + $0 }, shape: [d])) : nil
        let kNorm = c.norms ? try gpu.upload(.f32(uniform(d, 0.5).map { 1 + $0 }, shape: [d])) : nil
        let config = ModelConfig(architecture: "", modelType: "", vocabSize: 1, hiddenSize: c.heads * d, intermediateSize: 1,
                                 numHiddenLayers: 1, numAttentionHeads: c.heads, numKeyValueHeads: c.kvHeads, headDim: d,
                                 rmsNormEps: 1e-6, ropeTheta: 10_000, partialRotaryFactor: Double(c.rotaryDim) / Double(d),
                                 maxPositionEmbeddings: maxPos, tieWordEmbeddings: false, attentionBias: false)
        let table = try RotaryEmbedding.table(config: config, maxPositions: maxPos, neoxStyle: c.neox, backend: gpu)
        let scale = 1 / Float(d).squareRoot()

        guard gpu.fusesQKVAttention(numHeads: c.heads, numKVHeads: c.kvHeads, headDim: d, cache: caches[1], metadata: meta) else {
            return ["the fused kernel does not apply"]
        }
        let apart = try gpu.splitThenAttention(qkv, numHeads: c.heads, numKVHeads: c.kvHeads, headDim: d, qNorm: qNorm, kNorm: kNorm,
                                               eps: 1e-6, table: table, cache: caches[0], metadata: meta, scale: scale)
        let fused = try gpu.qkvAttention(qkv, numHeads: c.heads, numKVHeads: c.kvHeads, headDim: d, qNorm: qNorm, kNorm: kNorm,
                                         eps: 1e-6, table: table, cache: caches[1], metadata: meta, scale: scale)
        func bits(_ t: Tensor) throws -> [UInt32] { try gpu.download(t).map { $0.isNaN ? 0x7fc0_0000 : $0.bitPattern } }
        var differs: [String] = []
        let a = try bits(apart), b = try bits(fused)
        let wrong = zip(a, b).filter { $0 != $1 }.count
        if wrong > 0 { differs.append("\(wrong) of \(a.count) outputs differ") }
        let fusedKeys = try bits(caches[1].key)
        for (name, x, y) in [("keys", try bits(caches[0].key), fusedKeys), ("values", try bits(caches[0].value), try bits(caches[1].value))] {
            let w = zip(x, y).filter { $0 != $1 }.count
            if w > 0 { differs.append("\(w) cached \(name) differ") }
        }
        // The new rows did land (the unfused store is the reference; they differ from the fill).
        if dtype == .bf16, let s = newSlots.first.map(Int.init), s >= 0,
           fusedKeys[s * kvDim ..< (s + 1) * kvDim].elementsEqual(try bits(k0)[s * kvDim ..< (s + 1) * kvDim]) {
            differs.append("the new key was not stored")
        }
        return differs
    }
}
