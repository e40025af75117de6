import Tensors

/// Deterministic pseudo-random weights for `--load-format dummy`: real shapes without real files.
/// Each tensor is generated when asked for, from `seed` and its name only, so the same name always
/// gives the same values. Matrices are uniform in ±0.02, norm weights are 1, biases 0.
public struct DummyWeights: WeightSource {
    public let shapes: [String: [Int]]
    public let dtype: DType
    public let seed: UInt64
    public let tensorNames: [String]

    public init(shapes: [String: [Int]], dtype: DType, seed: UInt64 = 0) {
        self.shapes = shapes
        self.dtype = dtype
        self.seed = seed
        self.tensorNames = shapes.keys.sorted()
    }

    public func contains(_ name: String) -> Bool { shapes[name] != nil }

    public func tensor(_ name: String) throws -> HostTensor {
        guard let shape = shapes[name] else { throw ModelError.missingTensor(name: name, source: "dummy weights") }
        guard dtype == .f32 || dtype == .f16 || dtype == .bf16 else {
            throw ModelError.unsupportedDType(file: "dummy weights", tensor: name, dtype: dtype.description)
        }
        let count = shape.reduce(1, *)
        let out = OwnedBytes(count: dtype.byteCount(elements: count))
        let constant: Float? = name.hasSuffix("norm.weight") || name.hasSuffix("layernorm.weight") ? 1
            : name.hasSuffix(".bias") ? 0 : nil
        var state = seed ^ Self.fnv1a(name)
        for index in 0 ..< count {
            let value: Float
            if let constant {
                value = constant
            } else {
                // Top 24 bits of splitmix64 → [0, 1) → [-0.02, 0.02).
                let unit = Float(Self.splitmix64(&state) >> 40) * (1.0 / 16_777_216.0)
                value = (unit * 2 - 1) * 0.02
            }
            switch dtype {
            case .f16:
                out.pointer.storeBytes(of: Float16(value).bitPattern, toByteOffset: index * 2, as: UInt16.self)
            case .bf16:
                out.pointer.storeBytes(of: Self.bf16Bits(value), toByteOffset: index * 2, as: UInt16.self)
            default:
                out.pointer.storeBytes(of: value, toByteOffset: index * 4, as: Float.self)
            }
        }
        return HostTensor(shape: shape, dtype: dtype, bytes: out.buffer, owner: out)
    }

    static func splitmix64(_ state: inout UInt64) -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// FNV-1a of the UTF-8 name: a hash that, unlike `Hasher`, is the same in every process.
    static func fnv1a(_ text: String) -> UInt64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in text.utf8 {
            hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3
        }
        return hash
    }

    /// f32 → bf16 with round-to-nearest-even (values here are finite).
    static func bf16Bits(_ value: Float) -> UInt16 {
        let bits = value.bitPattern
        let rounded = bits &+ 0x7FFF &+ ((bits >> 16) & 1)
        return UInt16(truncatingIfNeeded: rounded >> 16)
    }
}
