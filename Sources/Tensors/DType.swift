/// Element types of tensors. Quantized types are GGUF's block formats: a tensor row of `k` elements
/// is `k / blockSize` blocks of `blockBytes` bytes each, laid out exactly as in the GGUF file.
public enum DType: String, Sendable, CaseIterable, CustomStringConvertible {
    case f32, f16, bf16, i32
    /// OCP FP8 E4M3 ("fn": no infinities, max ±448), the `--kv-cache-dtype fp8` storage of the KV
    /// cache: values are stored unscaled (scale 1.0, vLLM's default without calibrated scales),
    /// rounded to nearest even and saturated to ±448.
    case f8e4m3
    case q8_0, q4_0, q4_1, q4_K, q6_K

    /// Elements per block (1 for plain types).
    public var blockSize: Int {
        switch self {
        case .f32, .f16, .bf16, .i32, .f8e4m3: 1
        case .q8_0, .q4_0, .q4_1: 32
        case .q4_K, .q6_K: 256
        }
    }

    /// Bytes per block.
    public var blockBytes: Int {
        switch self {
        case .f32, .i32: 4
        case .f16, .bf16: 2
        case .f8e4m3: 1
        case .q8_0: 34       // f16 scale + 32 x i8
        case .q4_0: 18       // f16 scale + 16 bytes of nibbles
        case .q4_1: 20       // f16 scale, f16 min + 16 bytes of nibbles
        case .q4_K: 144      // f16 d, f16 dmin, 12 bytes of 6-bit scales/mins, 128 bytes of nibbles
        case .q6_K: 210      // 128 low nibbles, 64 high 2-bits, 16 i8 scales, f16 d
        }
    }

    public var isQuantized: Bool { blockSize > 1 }

    /// Bytes taken by `elements` elements; `elements` must be a multiple of `blockSize`.
    public func byteCount(elements: Int) -> Int {
        precondition(elements % blockSize == 0, "\(self): \(elements) elements is not a whole number of blocks")
        return elements / blockSize * blockBytes
    }

    public var description: String { rawValue }
}

extension Float {
    /// The value of an E4M3 byte (`DType.f8e4m3`): exact; NaN for 0x7f and 0xff.
    public init(e4m3 byte: UInt8) {
        let exponent = Int(byte >> 3) & 0xf, mantissa = Float(byte & 7)
        let magnitude: Float = exponent == 15 && byte & 7 == 7 ? .nan
            : exponent == 0 ? mantissa * 0x1p-9
            : (1 + mantissa / 8) * Float(sign: .plus, exponent: exponent - 7, significand: 1)
        self = byte & 0x80 != 0 ? -magnitude : magnitude
    }
}
