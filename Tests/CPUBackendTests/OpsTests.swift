import Foundation
import Testing
import Tensors
import CPUBackend

/// Row-wise and element-wise ops against naive double-precision references.
@Suite struct OpsTests {
    func rmsRef(_ r: [Float], _ w: [Float], n: Int, d: Int, eps: Float) -> [Double] {
        var out = [Double]()
        for i in 0..<n {
            let row = r[(i * d)..<((i + 1) * d)].map(Double.init)
            let s = 1 / (row.reduce(0) { $0 + $1 * $1 } / Double(d) + Double(eps)).squareRoot()
            for j in 0..<d { out.append(row[j] * s * Double(w[j])) }
        }
        return out
    }

    @Test(arguments: [DType.f32, .bf16, .f16])
    func rmsNorm(weightType: DType) throws {
        var rng = SeededRandom(seed: 7)
        let n = 5, d = 576
        let x = rng.floats(n * d, scale: 3)
        var w = rng.floats(d)
        let wt: Tensor
        switch weightType {
        case .bf16:
            w = w.map { Float(bitPattern: $0.bitPattern & 0xFFFF_0000) }
            wt = try uploadBytes(w.flatMap { v -> [UInt8] in let b = bf16Bits(v); return [UInt8(b & 0xFF), UInt8(b >> 8)] },
                                 shape: [d], dtype: .bf16)
        case .f16:
            w = w.map { Float(Float16($0)) }
            wt = try uploadBytes(w.flatMap { v -> [UInt8] in let b = f16Bits(v); return [UInt8(b & 0xFF), UInt8(b >> 8)] },
                                 shape: [d], dtype: .f16)
        default: wt = try upload(w, [d])
        }
        for _ in 0..<2 {  // the second call reads the cached f32 copy of a half-precision weight
            let y = try backend.download(backend.rmsNorm(upload(x, [n, d]), weight: wt, eps: 1e-5))
            let want = rmsRef(x, w, n: n, d: d, eps: 1e-5)
            // a few float32 roundings per element after a length-d sum of squares: 1e-5 relative is ample.
            #expect(maxViolation(y, want, scale: want.map(abs), rtol: 1e-5) <= 0)
        }
    }

    @Test func addRMSNormUpdatesResidual() throws {
        var rng = SeededRandom(seed: 8)
        let n = 3, d = 100
        let x = rng.floats(n * d), r = rng.floats(n * d), w = rng.floats(d)
        let residual = try upload(r, [n, d])
        let y = try backend.download(backend.addRMSNorm(upload(x, [n, d]), residual: residual, weight: upload(w, [d]), eps: 1e-6))
        let sum = zip(x, r).map { $0 + $1 }
        #expect(try backend.download(residual) == sum)
        let want = rmsRef(sum, w, n: n, d: d, eps: 1e-6)
        #expect(maxViolation(y, want, scale: want.map(abs), rtol: 1e-5) <= 0)
    }

    @Test func addIsExact() throws {
        var rng = SeededRandom(seed: 9)
        let a = rng.floats(40_001), b = rng.floats(40_001)
        let y = try backend.download(backend.add(upload(a, [40_001]), upload(b, [40_001])))
        #expect(y == zip(a, b).map { $0 + $1 })
    }

    @Test func siluAndMul() throws {
        var rng = SeededRandom(seed: 10)
        let n = 4, h = 1539  // not a multiple of 8: SIMD body plus scalar tail
        let x = rng.floats(n * 2 * h, scale: 12)
        let y = try backend.download(backend.siluAndMul(upload(x, [n, 2 * h])))
        var want = [Double]()
        for i in 0..<n {
            for j in 0..<h {
                let g = Double(x[i * 2 * h + j]), u = Double(x[i * 2 * h + h + j])
                want.append(g / (1 + exp(-g)) * u)
            }
        }
        // vectorized exp: a few ulp; 1e-6 relative plus a tiny absolute floor.
        #expect(maxViolation(y, want, scale: want.map(abs), rtol: 1e-6, atol: 1e-7) <= 0)
    }

    @Test(arguments: [DType.f32, .f16, .bf16, .q8_0, .q4_0, .q4_1, .q4_K, .q6_K])
    func embeddingGathersDequantizedRows(dtype: DType) throws {
        var rng = SeededRandom(seed: 11)
        let vocab = 13, d = 512
        let table = try uploadBytes(randomWeightBytes(dtype, m: vocab, k: d, rng: &rng), shape: [vocab, d], dtype: dtype)
        let full = try backend.download(table)
        let ids: [Int32] = [3, 0, 12, 3, 7]
        let y = try backend.download(backend.embedding(table, ids: uploadI32(ids)))
        #expect(y == ids.flatMap { full[(Int($0) * d)..<((Int($0) + 1) * d)] })
    }

    @Test func gatherRows() throws {
        let x = try upload((0..<30).map(Float.init), [6, 5])
        let y = try backend.gatherRows(x, indices: uploadI32([5, 0, 2]))
        #expect(y.shape == [3, 5])
        #expect(try backend.download(y) == [25, 26, 27, 28, 29, 0, 1, 2, 3, 4, 10, 11, 12, 13, 14])
    }

    @Test func downloadConvertsHalfTypesAndInts() throws {
        let values: [Float] = [1, -2.5, 0.15625, 65504]
        let f16 = try uploadBytes(values.flatMap { v -> [UInt8] in let b = f16Bits(v); return [UInt8(b & 0xFF), UInt8(b >> 8)] },
                                  shape: [4], dtype: .f16)
        #expect(try backend.download(f16) == values)
        let bf = try uploadBytes(values.flatMap { v -> [UInt8] in let b = bf16Bits(v); return [UInt8(b & 0xFF), UInt8(b >> 8)] },
                                 shape: [4], dtype: .bf16)
        #expect(try backend.download(bf) == values.map { Float(bitPattern: $0.bitPattern & 0xFFFF_0000) })
        #expect(try backend.download(uploadI32([-3, 7])) == [-3, 7])
    }
}
