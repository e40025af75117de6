import CPUKernels
import Tensors

/// Host memory seen by the CPU backend: a raw pointer plus the object that keeps it alive (an
/// `OwnedBytes` allocation, or a weight file's mapping when `upload` aliased it).
public final class CPUStorage: DeviceStorage, @unchecked Sendable {
    public let pointer: UnsafeMutableRawPointer
    public let byteCount: Int
    let owner: AnyObject?
    /// f32 copies of small f16/bf16 parameter tensors (norm weights, biases), keyed by byte offset,
    /// so ops that want f32 parameters convert once rather than on every call.
    var f32Copies: [Int: OwnedBytes] = [:]

    init(pointer: UnsafeMutableRawPointer, byteCount: Int, owner: AnyObject?) {
        self.pointer = pointer
        self.byteCount = byteCount
        self.owner = owner
    }

    /// A fresh 64-byte-aligned allocation.
    convenience init(allocating byteCount: Int) {
        let bytes = OwnedBytes(count: byteCount)
        self.init(pointer: bytes.pointer, byteCount: byteCount, owner: bytes)
    }
}

extension DType {
    /// The kernel library's code for this element type (nil for i32 and f8e4m3, which no generic kernel consumes).
    var kernelType: Int32? {
        switch self {
        case .f32: Int32(CK_F32)
        case .f16: Int32(CK_F16)
        case .bf16: Int32(CK_BF16)
        case .q8_0: Int32(CK_Q8_0)
        case .q4_0: Int32(CK_Q4_0)
        case .q4_1: Int32(CK_Q4_1)
        case .q4_K: Int32(CK_Q4_K)
        case .q6_K: Int32(CK_Q6_K)
        case .i32, .f8e4m3: nil  // f8e4m3: only the KV cache, which its own kernels read
        }
    }
}
