import Foundation
import Tensors

/// Device memory behind a tensor. Activations come from `DeviceAllocator`'s cache and go back to
/// it when the last tensor viewing them is gone; weights and the KV cache are plain allocations.
final class CUDAStorage: DeviceStorage, @unchecked Sendable {
    let pointer: CUdeviceptr
    let byteCount: Int
    private let allocator: DeviceAllocator
    private let pooled: Bool

    init(pointer: CUdeviceptr, byteCount: Int, allocator: DeviceAllocator, pooled: Bool) {
        self.pointer = pointer
        self.byteCount = byteCount
        self.allocator = allocator
        self.pooled = pooled
    }

    deinit { allocator.release(pointer, byteCount: byteCount, pooled: pooled) }
}

/// A caching allocator: freed activation buffers are kept in per-size-class free lists and handed
/// out again, so a steady-state step allocates nothing from the driver (cuMemAlloc synchronises the
/// device and costs tens of microseconds). Size classes are a quarter of a power of two apart, so
/// varying batch sizes reuse buffers instead of growing the cache without bound.
final class DeviceAllocator: @unchecked Sendable {
    private let driver: CUDADriver
    private let lock = NSLock()
    private var free: [Int: [CUdeviceptr]] = [:]
    private(set) var cachedBytes = 0
    private(set) var inUseBytes = 0
    private(set) var peakInUseBytes = 0

    init(driver: CUDADriver) { self.driver = driver }

    static func sizeClass(_ bytes: Int) -> Int {
        let n = max(bytes, 512)
        if n <= 4096 { return (n + 511) & ~511 }
        let top = Int.bitWidth - n.leadingZeroBitCount - 1   // 2^top <= n
        let step = 1 << (top - 2)
        return (n + step - 1) / step * step
    }

    func allocate(_ bytes: Int, pooled: Bool) throws -> CUDAStorage {
        let size = pooled ? Self.sizeClass(bytes) : max(bytes, 256)
        lock.lock()
        if pooled, var list = free[size], let ptr = list.popLast() {
            free[size] = list
            cachedBytes -= size
            inUseBytes += size
            peakInUseBytes = max(peakInUseBytes, inUseBytes)
            lock.unlock()
            return CUDAStorage(pointer: ptr, byteCount: size, allocator: self, pooled: true)
        }
        lock.unlock()
        var ptr: CUdeviceptr = 0
        var result = driver.cuMemAlloc(&ptr, size)
        if result == 2 {  // out of memory: give the cache back to the driver and try once more
            emptyCache()
            result = driver.cuMemAlloc(&ptr, size)
        }
        try driver.check(result, "cuMemAlloc(\(size) bytes)")
        lock.lock()
        if pooled {
            inUseBytes += size
            peakInUseBytes = max(peakInUseBytes, inUseBytes)
        }
        lock.unlock()
        return CUDAStorage(pointer: ptr, byteCount: size, allocator: self, pooled: pooled)
    }

    func release(_ ptr: CUdeviceptr, byteCount: Int, pooled: Bool) {
        guard pooled else {
            _ = driver.cuMemFree(ptr)
            return
        }
        lock.lock()
        free[byteCount, default: []].append(ptr)
        cachedBytes += byteCount
        inUseBytes -= byteCount
        lock.unlock()
    }

    func emptyCache() {
        lock.lock()
        let all = free.values.flatMap { $0 }
        free = [:]
        cachedBytes = 0
        lock.unlock()
        for p in all { _ = driver.cuMemFree(p) }
    }
}
