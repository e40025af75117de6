import Foundation
import Testing
import Tensors
import CPUBackend

/// Paged attention against dense causal attention: several sequences of different lengths, some with
/// part of their context already cached (chunked prefill / decode), GQA, shuffled block tables.
@Suite struct AttentionTests {
    struct Case: Sendable, CustomStringConvertible {
        var seqLens: [Int]
        var queryLens: [Int]
        var numHeads: Int
        var numKVHeads: Int
        var headDim: Int
        var blockSize: Int
        var description: String { "seqLens \(seqLens) queryLens \(queryLens) heads \(numHeads)/\(numKVHeads) hd \(headDim) bs \(blockSize)" }
    }

    static let cases: [Case] = [
        Case(seqLens: [13, 5, 22, 1], queryLens: [13, 1, 7, 1], numHeads: 6, numKVHeads: 2, headDim: 16, blockSize: 4),
        Case(seqLens: [40], queryLens: [40], numHeads: 9, numKVHeads: 3, headDim: 64, blockSize: 16),
        Case(seqLens: [70, 33], queryLens: [1, 1], numHeads: 4, numKVHeads: 4, headDim: 32, blockSize: 16),
        Case(seqLens: [37, 50, 3], queryLens: [20, 35, 2], numHeads: 8, numKVHeads: 1, headDim: 8, blockSize: 8),
        Case(seqLens: [30, 9], queryLens: [5, 9], numHeads: 4, numKVHeads: 2, headDim: 128, blockSize: 16),
    ]

    @Test(arguments: cases)
    func pagedMatchesDense(c: Case) throws {
        var rng = SeededRandom(seed: UInt64(c.seqLens.reduce(0, +) * 7 + c.headDim))
        let bs = c.blockSize, nkv = c.numKVHeads, hd = c.headDim, nh = c.numHeads, row = nkv * hd
        let blocksPer = c.seqLens.map { ($0 + bs - 1) / bs }
        let numBlocks = blocksPer.reduce(0, +) + 3  // a few unused blocks
        var free = Array(0..<numBlocks)
        free.shuffle(using: &rng)
        let maxBlocks = blocksPer.max()! + 1
        var tables = [Int32](repeating: 0, count: c.seqLens.count * maxBlocks)
        for s in c.seqLens.indices { for b in 0..<blocksPer[s] { tables[s * maxBlocks + b] = Int32(free.removeLast()) } }

        // Full K/V of every sequence; the cached prefix goes straight into the cache buffers.
        let keys = c.seqLens.map { rng.floats($0 * row) }, values = c.seqLens.map { rng.floats($0 * row) }
        var kCache = [Float](repeating: 0, count: numBlocks * bs * row), vCache = kCache
        func slot(_ s: Int, _ p: Int) -> Int { Int(tables[s * maxBlocks + p / bs]) * bs + p % bs }
        var qRows = [Float](), kNew = [Float](), vNew = [Float](), slots = [Int32](), positions = [Int32](), starts: [Int32] = [0]
        for s in c.seqLens.indices {
            let cached = c.seqLens[s] - c.queryLens[s]
            for p in 0..<cached {
                kCache.replaceSubrange((slot(s, p) * row)..<((slot(s, p) + 1) * row), with: keys[s][(p * row)..<((p + 1) * row)])
                vCache.replaceSubrange((slot(s, p) * row)..<((slot(s, p) + 1) * row), with: values[s][(p * row)..<((p + 1) * row)])
            }
            for p in cached..<c.seqLens[s] {
                kNew += keys[s][(p * row)..<((p + 1) * row)]
                vNew += values[s][(p * row)..<((p + 1) * row)]
                slots.append(Int32(slot(s, p)))
                positions.append(Int32(p))
                qRows += rng.floats(nh * hd)
            }
            starts.append(starts.last! + Int32(c.queryLens[s]))
        }
        let cache = KVCacheLayer(key: try upload(kCache, [numBlocks, bs, nkv, hd]), value: try upload(vCache, [numBlocks, bs, nkv, hd]))
        let meta = try AttentionMetadata(blockSize: bs, positions: positions, slotMapping: slots, queryStart: starts,
                                         seqLens: c.seqLens.map(Int32.init), blockTables: tables, maxBlocksPerSeq: maxBlocks,
                                         backend: backend)
        let n = positions.count, scale = 1 / Float(hd).squareRoot()
        let out = try backend.download(backend.attention(q: upload(qRows, [n, nh * hd]), k: upload(kNew, [n, row]),
                                                         v: upload(vNew, [n, row]), cache: cache, metadata: meta,
                                                         numHeads: nh, scale: scale))
        // Dense reference in double precision.
        var want = [Double](), token = 0
        for s in c.seqLens.indices {
            for j in 0..<c.queryLens[s] {
                let pos = c.seqLens[s] - c.queryLens[s] + j
                for h in 0..<nh {
                    let kvh = h / (nh / nkv)
                    let q = qRows[((token * nh + h) * hd)..<((token * nh + h + 1) * hd)].map(Double.init)
                    var scores = (0...pos).map { p in
                        (0..<hd).reduce(0.0) { $0 + q[$1] * Double(keys[s][p * row + kvh * hd + $1]) } * Double(scale)
                    }
                    let mx = scores.max()!
                    scores = scores.map { exp($0 - mx) }
                    let sum = scores.reduce(0, +)
                    for i in 0..<hd {
                        want.append((0...pos).reduce(0.0) { $0 + scores[$1] * Double(values[s][$1 * row + kvh * hd + i]) } / sum)
                    }
                }
                token += 1
            }
        }
        // float32 dot products of length hd, exp, and a convex combination of values in [-1, 1]:
        // errors are a few 1e-7 absolute.
        #expect(maxViolation(out, want, scale: [Double](repeating: 1, count: want.count), rtol: 2e-6) <= 0)
        // New K/V landed at their slots.
        let kAfter = try backend.download(cache.key)
        for (i, s) in slots.enumerated() {
            #expect(Array(kAfter[(Int(s) * row)..<((Int(s) + 1) * row)]) == Array(kNew[(i * row)..<((i + 1) * row)]))
        }
    }

    @Test func negativeSlotsAreSkipped() throws {
        let cache = try backend.allocateKVCache(numBlocks: 2, blockSize: 4, numKVHeads: 1, headDim: 8)
        let meta = try AttentionMetadata(blockSize: 4, positions: [0], slotMapping: [-1], queryStart: [0, 1], seqLens: [1],
                                         blockTables: [1], maxBlocksPerSeq: 1, backend: backend)
        _ = try backend.attention(q: upload([Float](repeating: 1, count: 8), [1, 8]), k: upload([Float](repeating: 1, count: 8), [1, 8]),
                                  v: upload([Float](repeating: 1, count: 8), [1, 8]), cache: cache, metadata: meta, numHeads: 1, scale: 1)
        #expect(try backend.download(cache.key).allSatisfy { $0 == 0 })
    }
}
