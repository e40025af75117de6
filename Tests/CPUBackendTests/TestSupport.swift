import Foundation
import Tensors
import CPUBackend

/// Deterministic random numbers for reproducible tests (SplitMix64).
struct SeededRandom: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func floats(_ count: Int, scale: Float = 1) -> [Float] {
        (0..<count).map { _ in Float.random(in: -scale...scale, using: &self) }
    }
    mutating func bytes(_ count: Int) -> [UInt8] { (0..<count).map { _ in UInt8.random(in: 0...255, using: &self) } }
}

/// Shared backend: creating a thread pool per test is wasteful.
let backend = CPUBackend(threads: 2)

func upload(_ values: [Float], _ shape: [Int]) throws -> Tensor { try backend.upload(.f32(values, shape: shape)) }
func uploadI32(_ values: [Int32]) throws -> Tensor { try backend.upload(.i32(values, shape: [values.count])) }

/// Uploads raw bytes as a tensor of `dtype` (the bytes are kept alive by an OwnedBytes owner).
func uploadBytes(_ bytes: [UInt8], shape: [Int], dtype: DType) throws -> Tensor {
    let owned = OwnedBytes(count: bytes.count)
    bytes.withUnsafeBytes { owned.pointer.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
    return try backend.upload(HostTensor(shape: shape, dtype: dtype, bytes: owned.buffer, owner: owned))
}

func f16Bits(_ v: Float) -> UInt16 { Float16(v).bitPattern }
func bf16Bits(_ v: Float) -> UInt16 { UInt16(v.bitPattern >> 16) }

/// Random weight bytes of `dtype` for a [m, k] matrix, with block scales in a sane range so values stay O(1).
func randomWeightBytes(_ dtype: DType, m: Int, k: Int, rng: inout SeededRandom) -> [UInt8] {
    let count = dtype.byteCount(elements: m * k)
    var bytes = rng.bytes(count)
    func put16(_ v: UInt16, at i: Int) { bytes[i] = UInt8(v & 0xFF); bytes[i + 1] = UInt8(v >> 8) }
    let blocks = count / dtype.blockBytes
    for b in 0..<blocks {
        let base = b * dtype.blockBytes
        switch dtype {
        case .f32:
            let v = Float.random(in: -1...1, using: &rng).bitPattern
            for j in 0..<4 { bytes[base + j] = UInt8((v >> (8 * UInt32(j))) & 0xFF) }
        case .f16: put16(f16Bits(Float.random(in: -1...1, using: &rng)), at: base)
        case .bf16: put16(bf16Bits(Float.random(in: -1...1, using: &rng)), at: base)
        case .q8_0: put16(f16Bits(Float.random(in: 0.001...0.01, using: &rng)), at: base)
        case .q4_0: put16(f16Bits(Float.random(in: 0.01...0.2, using: &rng)), at: base)
        case .q4_1:
            put16(f16Bits(Float.random(in: 0.01...0.2, using: &rng)), at: base)
            put16(f16Bits(Float.random(in: -1...1, using: &rng)), at: base + 2)
        case .q4_K:
            put16(f16Bits(Float.random(in: 0.001...0.01, using: &rng)), at: base)
            put16(f16Bits(Float.random(in: 0.001...0.01, using: &rng)), at: base + 2)
        case .q6_K: put16(f16Bits(Float.random(in: 0.0001...0.001, using: &rng)), at: base + 208)
        case .i32, .f8e4m3: break
        }
    }
    return bytes
}

/// |got - want| <= tol * scale[i] + atol for all i.
func maxViolation(_ got: [Float], _ want: [Double], scale: [Double], rtol: Double, atol: Double = 1e-6) -> Double {
    precondition(got.count == want.count)
    var worst = 0.0
    for i in got.indices {
        let excess = abs(Double(got[i]) - want[i]) - (rtol * scale[i] + atol)
        worst = max(worst, excess)
    }
    return worst
}

func fixtureURL(_ name: String) -> URL {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures").appendingPathComponent(name)
}

func readFloats(_ name: String) throws -> [Float] {
    let data = try Data(contentsOf: fixtureURL(name))
    return data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
}
