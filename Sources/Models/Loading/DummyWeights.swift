import Dispatch
import Tensors

/// Deterministic pseudo-random weights for `--load-format dummy`: real shapes without real files.
/// Each tensor is generated when asked for, from `seed` and its name only, so the same name always
/// gives the same values. Matrices are uniform in ±0.02 (`DummyValues`), norm weights are 1, biases 0.
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
        let constant = Self.constant(for: name)
        let target = Target(pointer: out.pointer, dtype: dtype)
        if let constant {
            target.store(0 ..< count) { _ in constant }
        } else {
            // Chunks are independent (`DummyValues`), so they fill in parallel (an 8B-parameter
            // model is billions of values) and the values do not depend on the number of threads.
            let nameSeed = DummyValues.seed(name: name, base: seed)
            let chunkSize = DummyValues.chunkSize
            let chunks = (count + chunkSize - 1) / chunkSize
            let fill = { @Sendable (chunk: Int) in
                target.store(chunk * chunkSize ..< min(count, (chunk + 1) * chunkSize), seed: nameSeed)
            }
            if chunks <= 1 { fill(0) } else { DispatchQueue.concurrentPerform(iterations: chunks, execute: fill) }
        }
        return HostTensor(shape: shape, dtype: dtype, bytes: out.buffer, owner: out)
    }

    /// The value of every element of `name` where it is not random: norm weights 1, biases 0.
    public static func constant(for name: String) -> Float? {
        name.hasSuffix("norm.weight") ? 1 : name.hasSuffix(".bias") ? 0 : nil
    }

    /// Where values go, converted to the dtype; chunks write disjoint ranges.
    struct Target: @unchecked Sendable {
        let pointer: UnsafeMutableRawPointer
        let dtype: DType

        func store(_ range: Range<Int>, seed: UInt64) {
            switch dtype {
            case .f16:
                let p = pointer.assumingMemoryBound(to: UInt16.self)
                DummyValues.fill(seed: seed, range: range) { i, v in p[i] = Float16(v).bitPattern }
            case .bf16:
                let p = pointer.assumingMemoryBound(to: UInt16.self)
                DummyValues.fill(seed: seed, range: range) { i, v in p[i] = HostTensor.bf16Bits(v) }
            default:
                let p = pointer.assumingMemoryBound(to: Float.self)
                DummyValues.fill(seed: seed, range: range) { i, v in p[i] = v }
            }
        }

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
}
