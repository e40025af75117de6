import Dispatch
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
        let target = Target(pointer: out.pointer, dtype: dtype)
        if let constant {
            target.store(0 ..< count) { _ in constant }
        } else {
            // Chunks are seeded independently so they fill in parallel (an 8B-parameter model is
            // billions of values) and the values do not depend on the number of threads.
            let nameSeed = seed ^ Self.fnv1a(name)
            let chunks = (count + Self.chunkSize - 1) / Self.chunkSize
            let fill = { @Sendable (chunk: Int) in
                var state = nameSeed &+ UInt64(chunk) &* 0xD1B5_4A32_D192_ED03
                var bits: UInt64 = 0
                let range = chunk * Self.chunkSize ..< min(count, (chunk + 1) * Self.chunkSize)
                target.store(range) { i in
                    // Four 16-bit draws per splitmix64 step, mapped to [-0.02, 0.02).
                    if i & 3 == 0 { bits = Self.splitmix64(&state) }
                    let draw = Float(UInt16(truncatingIfNeeded: bits >> (16 * UInt64(i & 3))))
                    return (draw * (1.0 / 32768.0) - 1) * 0.02
                }
            }
            if chunks <= 1 { fill(0) } else { DispatchQueue.concurrentPerform(iterations: chunks, execute: fill) }
        }
        return HostTensor(shape: shape, dtype: dtype, bytes: out.buffer, owner: out)
    }

    static let chunkSize = 1 << 16

    /// Where values go, converted to the dtype; chunks write disjoint ranges.
    struct Target: @unchecked Sendable {
        let pointer: UnsafeMutableRawPointer
        let dtype: DType

        @inline(__always)
        func store(_ range: Range<Int>, _ value: (Int) -> Float) {
            switch dtype {
            case .f16:
                let p = pointer.assumingMemoryBound(to: UInt16.self)
                for i in range { p[i] = Float16(value(i)).bitPattern }
            case .bf16:
                let p = pointer.assumingMemoryBound(to: UInt16.self)
                for i in range { p[i] = HostTensor.bf16Bits(value(i)) }
            default:
                let p = pointer.assumingMemoryBound(to: Float.self)
                for i in range { p[i] = value(i) }
            }
        }
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
}
