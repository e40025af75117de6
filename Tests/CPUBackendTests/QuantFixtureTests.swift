import Foundation
import Testing
import Tensors
import CPUBackend

/// Dequantization and products checked against vectors produced by the `gguf` Python package
/// (scripts/make_quant_fixtures.py): the bytes are real GGUF blocks.
@Suite struct QuantFixtureTests {
    static let rows = 5, k = 512, n = 3

    @Test(arguments: [DType.q8_0, .q4_0, .q4_1, .q4_K, .q6_K])
    func dequantizeMatchesGGUF(dtype: DType) throws {
        let blocks = try [UInt8](Data(contentsOf: fixtureURL("\(fixtureName(dtype)).blocks")))
        let expected = try readFloats("\(fixtureName(dtype)).dequant.f32")
        let w = try uploadBytes(blocks, shape: [Self.rows, Self.k], dtype: dtype)
        let got = try backend.download(w)
        // Both sides compute d * q (+ m) in float32 from the same f16 scales: equal up to one rounding.
        let scale = expected.map { Double(abs($0)) }
        #expect(maxViolation(got, expected.map(Double.init), scale: scale, rtol: 1e-6) <= 0)
    }

    @Test(arguments: [DType.q8_0, .q4_0, .q4_1, .q4_K, .q6_K])
    func productsMatchGGUF(dtype: DType) throws {
        let blocks = try [UInt8](Data(contentsOf: fixtureURL("\(fixtureName(dtype)).blocks")))
        let x = try readFloats("x.f32")
        let deq = try readFloats("\(fixtureName(dtype)).dequant.f32")
        let expected = try readFloats("\(fixtureName(dtype)).products.f32")
        let w = try uploadBytes(blocks, shape: [Self.rows, Self.k], dtype: dtype)
        for n in 1...Self.n {  // n = 1 and n > 1 take different kernel shapes
            let y = try backend.download(backend.linear(upload(Array(x[0..<(n * Self.k)]), [n, Self.k]), weight: w, bias: nil))
            var scale = [Double]()
            for i in 0..<n { for j in 0..<Self.rows {
                scale.append((0..<Self.k).reduce(0.0) { $0 + Double(abs(x[i * Self.k + $1] * deq[j * Self.k + $1])) })
            } }
            // float32 sums of k = 512 products: error well under 1e-5 of the sum of |terms| (k * 2^-24 ≈ 3e-5 worst case,
            // sqrt(k) * 2^-24 ≈ 1.4e-6 typical).
            #expect(maxViolation(y, expected[0..<(n * Self.rows)].map(Double.init), scale: scale, rtol: 1e-5) <= 0)
        }
    }

    private func fixtureName(_ dtype: DType) -> String {
        switch dtype {
        case .q8_0: "Q8_0"
        case .q4_0: "Q4_0"
        case .q4_1: "Q4_1"
        case .q4_K: "Q4_K"
        case .q6_K: "Q6_K"
        default: dtype.rawValue
        }
    }
}
