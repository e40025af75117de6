import Foundation
import Testing
import Tensors
import CPUBackend

/// The FP8 (E4M3) KV cache on the CPU: rounding and widening against ml_dtypes
/// (Tests/ModelsTests/Fixtures/e4m3-*, scripts/make_fp8_fixtures.py), and attention over it against
/// attention over a float32 cache holding the same rounded values.
@Suite struct FP8KVCacheTests {
    static func modelsFixture(_ name: String) throws -> Data {
        try Data(contentsOf: URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("ModelsTests/Fixtures").appendingPathComponent(name))
    }
    static let encoded = try! [UInt8](modelsFixture("e4m3-from-bf16.u8"))
    static let decoded = try! modelsFixture("e4m3-values.f32").withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }

    func same(_ a: Float, _ b: Float) -> Bool { a == b || (a.isNaN && b.isNaN) }

    /// A one-head cache of `values.count` slots of `headDim`, filled through the backend's KV store.
    func stored(_ values: [Float], headDim: Int, dtype: DType) throws -> KVCacheLayer {
        let slots = values.count / headDim
        let cache = try backend.allocateKVCache(numBlocks: slots, blockSize: 1, numKVHeads: 1, headDim: headDim, dtype: dtype)
        let meta = try AttentionMetadata(blockSize: 1, positions: [Int32](repeating: 0, count: slots),
                                         slotMapping: (0..<slots).map { Int32($0) }, queryStart: (0...slots).map { Int32($0) },
                                         seqLens: [Int32](repeating: 1, count: slots), blockTables: (0..<slots).map { Int32($0) },
                                         maxBlocksPerSeq: 1, backend: backend)
        let kv = try upload(values, [slots, headDim])
        _ = try backend.attention(q: upload([Float](repeating: 0, count: values.count), [slots, headDim]), k: kv, v: kv,
                                  cache: cache, metadata: meta, numHeads: 1, scale: 1)
        return cache
    }

    @Test func widensEveryByteAsMLDtypes() throws {
        let bytes = OwnedBytes(count: 256)
        for b in 0..<256 { bytes.pointer.storeBytes(of: UInt8(b), toByteOffset: b, as: UInt8.self) }
        let t = try backend.upload(HostTensor(shape: [1, 256], dtype: .f8e4m3, bytes: bytes.buffer, owner: bytes))
        let widened = try backend.download(t)
        for b in 0..<256 {
            #expect(same(widened[b], Self.decoded[b]), "byte \(b): \(widened[b]) vs \(Self.decoded[b])")
            #expect(same(Float(e4m3: UInt8(b)), Self.decoded[b]), "Float(e4m3: \(b))")
        }
    }

    /// Every bf16 value (the GPU's activations) stores as ml_dtypes rounds it after saturating to ±448.
    @Test func storesEveryBF16ValueAsMLDtypes() throws {
        let values = (0..<65536).map { Float(bitPattern: UInt32($0) << 16) }
        let got = try backend.download(stored(values, headDim: 256, dtype: .f8e4m3).key)
        var wrong = 0
        for i in values.indices where !same(got[i], Self.decoded[Int(Self.encoded[i])]) {
            if wrong < 5 { Issue.record("bf16 \(values[i]): stored \(got[i]), ml_dtypes \(Self.decoded[Int(Self.encoded[i])])") }
            wrong += 1
        }
        #expect(wrong == 0)
    }

    /// float32 values between bf16 ones: exact ties go to the even mantissa, anything past a tie
    /// (down to the last bit) rounds away, in the normal and the subnormal range; and saturation.
    @Test func roundsTiesToEvenAndSaturates() throws {
        let cases: [(Float, Float)] = [
            (1.0625, 1.0), (1.1875, 1.25), (1.0625 + 0x1p-20, 1.125), (1.1875 - 0x1p-20, 1.125),
            (-1.0625, -1.0), (2.5 * 0x1p-9, 2 * 0x1p-9), (3.5 * 0x1p-9, 4 * 0x1p-9), (2.5 * 0x1p-9 + 0x1p-30, 3 * 0x1p-9),
            (0x1p-10, 0), (0x1p-10 + 0x1p-30, 0x1p-9), (0x1p-6 - 0x1p-12, 0x1p-6), (447.9, 448), (464, 448),
            (1e30, 448), (-.infinity, -448), (15.5, 16), (14.5, 14), (0x1.f7p7, 256),
        ]
        let values = cases.map(\.0) + [Float](repeating: 0, count: 32 - cases.count)
        let got = try backend.download(stored(values, headDim: 32, dtype: .f8e4m3).key)
        for (i, c) in cases.enumerated() { #expect(got[i] == c.1, "\(c.0) stored as \(got[i]), want \(c.1)") }
    }

    /// Attention over the E4M3 cache equals attention over a float32 cache of the rounded values
    /// (prefill over shuffled blocks, GQA, then a decode step): float reassociation only, as the
    /// E4M3 path widens rows into the generic kernel while float32 may take the AVX-512 one.
    @Test func attentionMatchesFloat32OverRoundedValues() throws {
        var rng = SeededRandom(seed: 11)
        let nh = 4, nkv = 2, hd = 64, bs = 4, len = 19, row = nkv * hd, blocks = 6
        let table: [Int32] = [3, 0, 5, 1, 4]
        func slot(_ p: Int) -> Int32 { table[p / bs] * Int32(bs) + Int32(p % bs) }
        let keys = rng.floats(len * row).map { $0 * 4 }, values = rng.floats(len * row)
        let round = { (x: [Float]) in try self.backend8Round(x) }
        var outs: [[Float]] = []
        for dtype in [DType.f32, .f8e4m3] {
            let cache = try backend.allocateKVCache(numBlocks: blocks, blockSize: bs, numKVHeads: nkv, headDim: hd, dtype: dtype)
            let k = dtype == .f32 ? try round(keys) : keys, v = dtype == .f32 ? try round(values) : values
            var out: [Float] = []
            for (start, end) in [(0, len - 1), (len - 1, len)] {  // prefill, then one decode token
                let n = end - start
                let meta = try AttentionMetadata(blockSize: bs, positions: (start..<end).map { Int32($0) },
                                                 slotMapping: (start..<end).map(slot), queryStart: [0, Int32(n)],
                                                 seqLens: [Int32(end)], blockTables: table, maxBlocksPerSeq: table.count,
                                                 backend: backend)
                var qr = SeededRandom(seed: UInt64(start + 1))
                out += try backend.download(backend.attention(
                    q: upload(qr.floats(n * nh * hd), [n, nh * hd]), k: upload(Array(k[(start * row)..<(end * row)]), [n, row]),
                    v: upload(Array(v[(start * row)..<(end * row)]), [n, row]), cache: cache, metadata: meta,
                    numHeads: nh, scale: 1 / Float(hd).squareRoot()))
            }
            outs.append(out)
        }
        #expect(maxViolation(outs[1], outs[0].map(Double.init), scale: [Double](repeating: 1, count: outs[0].count),
                             rtol: 1e-5) <= 0)
    }

    /// `values` rounded through the E4M3 cache.
    func backend8Round(_ values: [Float]) throws -> [Float] {
        let padded = values + [Float](repeating: 0, count: (64 - values.count % 64) % 64)
        return Array(try backend.download(stored(padded, headDim: 64, dtype: .f8e4m3).key).prefix(values.count))
    }

    @Test func otherDTypesAreRefused() throws {
        #expect(throws: BackendError.self) {
            try backend.allocateKVCache(numBlocks: 1, blockSize: 1, numKVHeads: 1, headDim: 8, dtype: .bf16)
        }
    }
}
