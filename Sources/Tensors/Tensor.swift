/// Memory owned by one backend (host memory for the CPU, device memory for CUDA).
/// Backends downcast it to their own concrete type.
public protocol DeviceStorage: AnyObject, Sendable {}

/// A contiguous, row-major tensor living on a backend. `offset` is in bytes into `storage`, so
/// views (reshape, row slices) share memory without copying.
public struct Tensor: Sendable {
    public let shape: [Int]
    public let dtype: DType
    public let storage: any DeviceStorage
    public let offset: Int

    public init(shape: [Int], dtype: DType, storage: any DeviceStorage, offset: Int = 0) {
        self.shape = shape
        self.dtype = dtype
        self.storage = storage
        self.offset = offset
    }

    public var count: Int { shape.reduce(1, *) }
    public var byteCount: Int { dtype.byteCount(elements: count) }
    /// Number of rows when seen as a matrix [rows, lastDim].
    public var rows: Int { shape.count <= 1 ? 1 : shape.dropLast().reduce(1, *) }
    public var lastDim: Int { shape.last ?? 1 }

    /// The same memory with another shape of equal element count.
    public func reshaped(_ newShape: [Int]) -> Tensor {
        precondition(newShape.reduce(1, *) == count, "reshape \(shape) -> \(newShape) changes the element count")
        return Tensor(shape: newShape, dtype: dtype, storage: storage, offset: offset)
    }

    /// Rows `range` of the tensor seen as [rows, lastDim] (a view).
    public func rows(_ range: Range<Int>) -> Tensor {
        let rowBytes = dtype.byteCount(elements: lastDim)
        return Tensor(shape: [range.count, lastDim], dtype: dtype, storage: storage,
                      offset: offset + range.lowerBound * rowBytes)
    }
}

/// Tensor bytes in host memory, as read from a weight file (often a view into a memory-mapped file,
/// kept alive by `owner`).
public struct HostTensor: @unchecked Sendable {
    public let shape: [Int]
    public let dtype: DType
    public let bytes: UnsafeRawBufferPointer
    /// Keeps `bytes` valid (a mapping, an array box); nil for memory that is never freed.
    public let owner: AnyObject?

    public init(shape: [Int], dtype: DType, bytes: UnsafeRawBufferPointer, owner: AnyObject?) {
        precondition(bytes.count == dtype.byteCount(elements: shape.reduce(1, *)),
                     "HostTensor \(shape) \(dtype): \(bytes.count) bytes")
        self.shape = shape
        self.dtype = dtype
        self.bytes = bytes
        self.owner = owner
    }

    public var count: Int { shape.reduce(1, *) }

    /// A tensor that owns a copy of `values` (f32).
    public static func f32(_ values: [Float], shape: [Int]) -> HostTensor {
        let buffer = OwnedBytes(count: values.count * 4)
        values.withUnsafeBytes { buffer.pointer.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        return HostTensor(shape: shape, dtype: .f32, bytes: UnsafeRawBufferPointer(start: buffer.pointer, count: buffer.count), owner: buffer)
    }

    /// A tensor that owns a copy of `values` (i32).
    public static func i32(_ values: [Int32], shape: [Int]) -> HostTensor {
        let buffer = OwnedBytes(count: values.count * 4)
        values.withUnsafeBytes { buffer.pointer.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        return HostTensor(shape: shape, dtype: .i32, bytes: UnsafeRawBufferPointer(start: buffer.pointer, count: buffer.count), owner: buffer)
    }
}

/// A heap allocation freed when the last reference goes (64-byte aligned for SIMD loads).
public final class OwnedBytes: @unchecked Sendable {
    public let pointer: UnsafeMutableRawPointer
    public let count: Int

    public init(count: Int) {
        self.count = count
        self.pointer = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1), alignment: 64)
    }

    deinit { pointer.deallocate() }

    public var buffer: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: pointer, count: count) }
}
