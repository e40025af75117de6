import Testing
import Tensors
import CPUBackend

/// Matmul for every weight dtype against a naive double-precision reference over the dequantized
/// weights (`download` dequantizes with the scalar reference path; the matmul uses the SIMD one).
@Suite struct LinearTests {
    static let dtypes: [DType] = [.f32, .f16, .bf16, .q8_0, .q4_0, .q4_1, .q4_K, .q6_K]

    // n = 1...4: decode kernels; 5: the generic register-blocked path; 8, 17, 64: the prefill path (panels of 16/32).
    @Test(arguments: dtypes, [1, 3, 5, 8, 17, 64])
    func linearMatchesReference(dtype: DType, n: Int) throws {
        var rng = SeededRandom(seed: UInt64(n * 131 + dtype.blockBytes))
        let k = dtype.blockSize == 256 ? 512 : (dtype.isQuantized ? 160 : 147)  // 147: a k with a SIMD tail
        for m in [1, 7, 53] {  // odd m: partial register tiles
            let wBytes = randomWeightBytes(dtype, m: m, k: k, rng: &rng)
            let w = try uploadBytes(wBytes, shape: [m, k], dtype: dtype)
            let wf = try backend.download(w)
            let x = rng.floats(n * k)
            let bias = rng.floats(m)
            for useBias in [false, true] {
                let y = try backend.download(backend.linear(upload(x, [n, k]), weight: w,
                                                            bias: useBias ? upload(bias, [m]) : nil))
                #expect(y.count == n * m)
                var want = [Double](), scale = [Double]()
                for i in 0..<n {
                    for j in 0..<m {
                        var s = useBias ? Double(bias[j]) : 0, a = useBias ? Double(abs(bias[j])) : 0
                        for t in 0..<k {
                            let p = Double(x[i * k + t]) * Double(wf[j * k + t])
                            s += p
                            a += abs(p)
                        }
                        want.append(s)
                        scale.append(a)
                    }
                }
                // float32 accumulation of k <= 512 products: relative to the sum of |terms| the error is at most
                // about sqrt(k) * 2^-24 ≈ 1.4e-6 in practice (k * 2^-24 ≈ 3e-5 worst case): 1e-5 leaves margin.
                #expect(maxViolation(y, want, scale: scale, rtol: 1e-5) <= 0, "dtype \(dtype) n \(n) m \(m) bias \(useBias)")
            }
        }
    }

    @Test func linearKeepsLeadingShape() throws {
        let w = try upload([Float](repeating: 1, count: 4 * 8), [4, 8])
        let x = try upload([Float](repeating: 0.5, count: 2 * 3 * 8), [2, 3, 8])
        let y = try backend.linear(x, weight: w, bias: nil)
        #expect(y.shape == [2, 3, 4])
        #expect(try backend.download(y) == [Float](repeating: 4, count: 24))
    }

    @Test func mismatchedShapesThrow() throws {
        let w = try upload([Float](repeating: 1, count: 4 * 8), [4, 8])
        let x = try upload([Float](repeating: 1, count: 7), [1, 7])
        #expect(throws: BackendError.self) { try backend.linear(x, weight: w, bias: nil) }
    }
}
