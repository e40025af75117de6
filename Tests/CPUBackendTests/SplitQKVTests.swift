import Foundation
import Testing
import Tensors
import CPUBackend

/// `splitQKV` against a double-precision reference of the ops it replaces: per-head RMSNorm of q
/// and k, then the rotary embedding (full or partial, NeoX or GPT-J pairing); v copied.
@Suite struct SplitQKVTests {
    static let n = 3, hd = 16, nq = 4, nkv = 2, maxPos = 40
    static let positions: [Int32] = [0, 17, 39]

    func table(rotaryDim: Int, neox: Bool) throws -> (RotaryTable, cos: [Float], sin: [Float]) {
        var cosT = [Float](), sinT = [Float]()
        for p in 0..<Self.maxPos {
            for i in 0..<(rotaryDim / 2) {
                let a = Double(p) / pow(10000, Double(2 * i) / Double(rotaryDim))
                cosT.append(Float(cos(a)))
                sinT.append(Float(sin(a)))
            }
        }
        let shape = [Self.maxPos, rotaryDim / 2]
        return (RotaryTable(cos: try upload(cosT, shape), sin: try upload(sinT, shape), rotaryDim: rotaryDim, neoxStyle: neox),
                cosT, sinT)
    }

    /// One head: optional RMSNorm, then rotation of the first `rot` dims at position `p`.
    func refHead(_ x: [Float], norm: [Float]?, eps: Float, p: Int, rot: Int, neox: Bool,
                 cos cosT: [Float], sin sinT: [Float]) -> [Double] {
        var v = x.map(Double.init)
        if let norm {
            let s = 1 / (v.reduce(0) { $0 + $1 * $1 } / Double(v.count) + Double(eps)).squareRoot()
            v = v.indices.map { v[$0] * s * Double(norm[$0]) }
        }
        var out = v
        for i in 0..<(rot / 2) {
            let c = Double(cosT[p * rot / 2 + i]), s = Double(sinT[p * rot / 2 + i])
            let (ia, ib) = neox ? (i, i + rot / 2) : (2 * i, 2 * i + 1)
            out[ia] = v[ia] * c - v[ib] * s
            out[ib] = v[ib] * c + v[ia] * s
        }
        return out
    }

    @Test(arguments: [(true, 16, true), (false, 16, true), (true, 8, true), (false, 8, false), (true, 8, false)])
    func matchesNormThenRotary(neox: Bool, rotaryDim: Int, qkNorm: Bool) throws {
        let (n, hd, nq, nkv) = (Self.n, Self.hd, Self.nq, Self.nkv)
        var rng = SeededRandom(seed: 21)
        let width = (nq + 2 * nkv) * hd, eps: Float = 1e-6
        let qkv = rng.floats(n * width, scale: 3)
        let qw = rng.floats(hd), kw = rng.floats(hd)
        let (tab, cosT, sinT) = try table(rotaryDim: rotaryDim, neox: neox)
        let out = try backend.splitQKV(upload(qkv, [n, width]), numHeads: nq, numKVHeads: nkv, headDim: hd,
                                       qNorm: qkNorm ? upload(qw, [hd]) : nil, kNorm: qkNorm ? upload(kw, [hd]) : nil,
                                       eps: eps, positions: uploadI32(Self.positions), table: tab)
        #expect(out.q.shape == [n, nq * hd] && out.k.shape == [n, nkv * hd] && out.v.shape == [n, nkv * hd])
        var wantQ = [Double](), wantK = [Double](), wantV = [Float]()
        for t in 0..<n {
            let p = Int(Self.positions[t])
            for h in 0..<(nq + 2 * nkv) {
                let x = Array(qkv[(t * width + h * hd)..<(t * width + (h + 1) * hd)])
                if h < nq {
                    wantQ += refHead(x, norm: qkNorm ? qw : nil, eps: eps, p: p, rot: rotaryDim, neox: neox, cos: cosT, sin: sinT)
                } else if h < nq + nkv {
                    wantK += refHead(x, norm: qkNorm ? kw : nil, eps: eps, p: p, rot: rotaryDim, neox: neox, cos: cosT, sin: sinT)
                } else {
                    wantV += x
                }
            }
        }
        // A norm (a length-16 sum of squares) and one rotation in float32: a few ulps of the
        // head's magnitude; 1e-5 of |value| + 1e-5 leaves ample margin and catches any wrong pair.
        #expect(maxViolation(try backend.download(out.q), wantQ, scale: wantQ.map(abs), rtol: 1e-5, atol: 1e-5) <= 0)
        #expect(maxViolation(try backend.download(out.k), wantK, scale: wantK.map(abs), rtol: 1e-5, atol: 1e-5) <= 0)
        #expect(try backend.download(out.v) == wantV)
    }

    /// The fallback for q/k/v weights of different dtypes: q and k through separate calls with no K/V heads.
    @Test func noKVHeadsRotatesTheQPartOnly() throws {
        let (n, hd, nq) = (Self.n, Self.hd, Self.nq)
        var rng = SeededRandom(seed: 22)
        let x = rng.floats(n * nq * hd)
        let (tab, cosT, sinT) = try table(rotaryDim: hd, neox: true)
        let out = try backend.splitQKV(upload(x, [n, nq * hd]), numHeads: nq, numKVHeads: 0, headDim: hd, qNorm: nil,
                                       kNorm: nil, eps: 0, positions: uploadI32(Self.positions), table: tab)
        #expect(out.k.count == 0 && out.v.count == 0)
        var want = [Double]()
        for t in 0..<n {
            for h in 0..<nq {
                let head = Array(x[((t * nq + h) * hd)..<((t * nq + h + 1) * hd)])
                want += refHead(head, norm: nil, eps: 0, p: Int(Self.positions[t]), rot: hd, neox: true, cos: cosT, sin: sinT)
            }
        }
        #expect(maxViolation(try backend.download(out.q), want, scale: want.map(abs), rtol: 1e-5, atol: 1e-5) <= 0)
    }

    /// Same arithmetic as the op sequence it replaced: heads bit-identical to the rmsNorm op's
    /// (an identity rotation, cos 1 and sin 0, leaves them unchanged).
    @Test func normIsTheRMSNormOp() throws {
        let (n, hd, nq, nkv) = (Self.n, Self.hd, Self.nq, Self.nkv)
        var rng = SeededRandom(seed: 23)
        let width = (nq + 2 * nkv) * hd
        let qkv = rng.floats(n * width, scale: 2), qw = rng.floats(hd)
        let identity = RotaryTable(cos: try upload([Float](repeating: 1, count: Self.maxPos), [Self.maxPos, 1]),
                                   sin: try upload([Float](repeating: 0, count: Self.maxPos), [Self.maxPos, 1]),
                                   rotaryDim: 2, neoxStyle: true)
        let out = try backend.splitQKV(upload(qkv, [n, width]), numHeads: nq, numKVHeads: nkv, headDim: hd,
                                       qNorm: upload(qw, [hd]), kNorm: nil, eps: 1e-6,
                                       positions: uploadI32(Self.positions), table: identity)
        let qOnly = (0..<n).flatMap { t in qkv[(t * width)..<(t * width + nq * hd)] }
        let viaOp = try backend.download(backend.rmsNorm(upload(qOnly, [n * nq, hd]), weight: upload(qw, [hd]), eps: 1e-6))
        #expect(try backend.download(out.q) == viaOp)
    }

    /// With a store, k and v land in the cache exactly where `attention` would put them (slots
    /// below 0 skipped), and the split's own outputs are unchanged.
    @Test func storesKAndVLikeAttention() throws {
        let (n, hd, nq, nkv) = (Self.n, Self.hd, Self.nq, Self.nkv)
        var rng = SeededRandom(seed: 29)
        let width = (nq + 2 * nkv) * hd
        let qkv = try upload(rng.floats(n * width, scale: 2), [n, width])
        let (rotary, _, _) = try table(rotaryDim: hd, neox: true)
        let slots: [Int32] = [5, -1, 2]
        func cache() throws -> KVCacheLayer { try backend.allocateKVCache(numBlocks: 2, blockSize: 4, numKVHeads: nkv, headDim: hd) }
        let stored = try cache(), written = try cache()
        let plain = try backend.splitQKV(qkv, numHeads: nq, numKVHeads: nkv, headDim: hd, qNorm: nil, kNorm: nil, eps: 1e-6,
                                         positions: uploadI32(Self.positions), table: rotary)
        let withStore = try backend.splitQKV(qkv, numHeads: nq, numKVHeads: nkv, headDim: hd, qNorm: nil, kNorm: nil, eps: 1e-6,
                                             positions: uploadI32(Self.positions), table: rotary,
                                             store: KVCacheStore(cache: stored, slotMapping: uploadI32(slots)))
        #expect(try backend.download(withStore.k) == backend.download(plain.k))
        #expect(try backend.download(withStore.v) == backend.download(plain.v))
        let metadata = try AttentionMetadata(blockSize: 4, positions: Self.positions, slotMapping: slots, queryStart: [0, 1, 2, 3],
                                             seqLens: [1, 1, 1], blockTables: [0, 0, 0], maxBlocksPerSeq: 1, backend: backend)
        _ = try backend.attention(q: plain.q, k: plain.k, v: plain.v, cache: written, metadata: metadata, numHeads: nq, scale: 1)
        #expect(try backend.download(stored.key) == backend.download(written.key))
        #expect(try backend.download(stored.value) == backend.download(written.value))
        #expect(try backend.download(stored.key).contains { $0 != 0 })
    }
}
