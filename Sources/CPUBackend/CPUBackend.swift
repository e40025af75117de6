import CPUKernels
import Foundation
import Tensors

/// The CPU implementation of `Backend`: f32 activations, weights kept in their file dtype (quantized
/// blocks included) and aliased from host memory, multithreaded SIMD kernels from `CPUKernels`.
/// Used from one thread at a time (the engine loop); the kernels fan out over a persistent thread pool.
public final class CPUBackend: Backend, @unchecked Sendable {
    public let name = "cpu"
    public let activationDType: DType = .f32
    public let threads: Int
    let pool: OpaquePointer

    public init(threads: Int? = nil) {
        let count = max(1, threads ?? ProcessInfo.processInfo.activeProcessorCount)
        self.threads = count
        pool = ck_pool_create(Int32(count))
    }

    deinit { ck_pool_destroy(pool) }

    // MARK: memory

    public func upload(_ host: HostTensor) throws -> Tensor {
        // Zero-copy: the tensor aliases the host bytes (often a memory-mapped weight file) and keeps
        // their owner alive. Memory that is never freed (owner nil) is aliased as is.
        let base = host.bytes.baseAddress.map { UnsafeMutableRawPointer(mutating: $0) }
            ?? UnsafeMutableRawPointer.allocate(byteCount: 1, alignment: 64)
        let storage = CPUStorage(pointer: base, byteCount: host.bytes.count, owner: host.owner)
        return Tensor(shape: host.shape, dtype: host.dtype, storage: storage)
    }

    public func download(_ tensor: Tensor) throws -> [Float] {
        let count = tensor.count
        var result = [Float](repeating: 0, count: count)
        guard count > 0 else { return result }
        let src = raw(tensor)
        result.withUnsafeMutableBufferPointer { out in
            if tensor.dtype == .i32 {
                let ints = src.assumingMemoryBound(to: Int32.self)
                for i in 0..<count { out[i] = Float(ints[i]) }
            } else if tensor.dtype == .f8e4m3 {
                let bytes = src.assumingMemoryBound(to: UInt8.self)
                for i in 0..<count { out[i] = ck_e4m3_to_f32(bytes[i]) }
            } else {
                ck_convert_to_f32(pool, tensor.dtype.kernelType!, src, out.baseAddress!,
                                  Int64(tensor.rows), Int64(tensor.lastDim))
            }
        }
        return result
    }

    public func allocateKVCache(numBlocks: Int, blockSize: Int, numKVHeads: Int, headDim: Int, dtype: DType) throws -> KVCacheLayer {
        guard dtype == .f32 || dtype == .f8e4m3 else {
            throw BackendError.unsupported("a \(dtype) KV cache on the CPU (float32 or fp8_e4m3)")
        }
        let shape = [numBlocks, blockSize, numKVHeads, headDim]
        return KVCacheLayer(key: zeros(shape, dtype: dtype), value: zeros(shape, dtype: dtype))
    }

    // MARK: helpers shared by the op files

    /// A fresh f32 tensor (contents undefined).
    func empty(_ shape: [Int], dtype: DType = .f32) -> Tensor {
        let bytes = dtype.byteCount(elements: shape.reduce(1, *))
        return Tensor(shape: shape, dtype: dtype, storage: CPUStorage(allocating: bytes))
    }

    func zeros(_ shape: [Int], dtype: DType = .f32) -> Tensor {
        let t = empty(shape, dtype: dtype)
        raw(t).initializeMemory(as: UInt8.self, repeating: 0, count: t.byteCount)
        return t
    }

    func storage(_ t: Tensor) -> CPUStorage {
        guard let s = t.storage as? CPUStorage else { preconditionFailure("tensor does not live on the CPU backend") }
        return s
    }

    func raw(_ t: Tensor) -> UnsafeMutableRawPointer { storage(t).pointer + t.offset }

    /// Pointer to f32 data of an activation tensor.
    func f32(_ t: Tensor, _ what: String) throws -> UnsafeMutablePointer<Float> {
        guard t.dtype == .f32 else { throw BackendError.unsupported("\(what) must be f32, got \(t.dtype)") }
        return raw(t).assumingMemoryBound(to: Float.self)
    }

    /// Pointer to f32 values of a parameter tensor, converting f16/bf16 once and caching the copy.
    func parameterF32(_ t: Tensor, _ what: String) throws -> UnsafePointer<Float> {
        if t.dtype == .f32 { return UnsafePointer(raw(t).assumingMemoryBound(to: Float.self)) }
        guard let type = t.dtype.kernelType else { throw BackendError.unsupported("\(what) of dtype \(t.dtype)") }
        let s = storage(t)
        if let copy = s.f32Copies[t.offset], copy.count == t.count * 4 {
            return UnsafePointer(copy.pointer.assumingMemoryBound(to: Float.self))
        }
        let copy = OwnedBytes(count: t.count * 4)
        ck_convert_to_f32(pool, type, raw(t), copy.pointer.assumingMemoryBound(to: Float.self),
                          Int64(t.rows), Int64(t.lastDim))
        s.f32Copies[t.offset] = copy
        return UnsafePointer(copy.pointer.assumingMemoryBound(to: Float.self))
    }

    /// Bytes of an E4M3 tensor (the FP8 KV cache).
    func e4m3(_ t: Tensor, _ what: String) throws -> UnsafeMutablePointer<UInt8> {
        guard t.dtype == .f8e4m3 else { throw BackendError.unsupported("\(what) must be f8e4m3, got \(t.dtype)") }
        return raw(t).assumingMemoryBound(to: UInt8.self)
    }

    func i32(_ t: Tensor, _ what: String) throws -> UnsafePointer<Int32> {
        guard t.dtype == .i32 else { throw BackendError.unsupported("\(what) must be i32, got \(t.dtype)") }
        return UnsafePointer(raw(t).assumingMemoryBound(to: Int32.self))
    }

    func check(_ condition: Bool, _ message: @autoclosure () -> String) throws {
        if !condition { throw BackendError.failure(message()) }
    }
}
