import Tensors

/// An instantiated CUDA graph, replayed on the backend's stream.
final class CUDAGraph: CapturedGraph {
    let exec: CUhandle
    let backend: CUDABackend

    init(exec: CUhandle, backend: CUDABackend) {
        self.exec = exec
        self.backend = backend
    }

    func replay() throws {
        try backend.driver.check(backend.driver.cuGraphLaunch(exec, backend.stream), "cuGraphLaunch")
    }

    deinit { _ = backend.driver.cuGraphExecDestroy(exec) }
}

extension CUDABackend {
    public var supportsGraphs: Bool { true }

    public func copy(_ host: HostTensor, into tensor: Tensor) throws {
        guard host.bytes.count <= tensor.byteCount else {
            throw BackendError.failure("copy of \(host.bytes.count) bytes into a \(tensor.byteCount)-byte tensor")
        }
        try driver.check(driver.cuMemcpyHtoDAsync(ptr(tensor), host.bytes.baseAddress, host.bytes.count, stream), "copy")
    }

    public func copy(_ host: HostTensor, into tensor: Tensor, rowPitch: Int) throws {
        guard host.shape.count == 2 else { throw BackendError.failure("a 2D copy of a \(host.shape) host tensor") }
        let rows = host.shape[0], width = host.dtype.byteCount(elements: host.shape[1])
        let pitch = tensor.dtype.byteCount(elements: rowPitch)
        guard rows > 0, width > 0 else { return }
        guard width <= pitch, (rows - 1) * pitch + width <= tensor.byteCount else {
            throw BackendError.failure("a 2D copy of \(rows) rows of \(width) bytes, \(pitch) apart, into a \(tensor.byteCount)-byte tensor")
        }
        // CUDA_MEMCPY2D: size_t srcXInBytes, srcY; CUmemorytype srcMemoryType (4 bytes, padded);
        // srcHost, srcDevice, srcArray, srcPitch; then the same for dst (from byte 56);
        // WidthInBytes at 112, Height at 120.
        try withUnsafeTemporaryAllocation(byteCount: 128, alignment: 8) { buffer in
            buffer.initializeMemory(as: UInt8.self, repeating: 0)
            let p = buffer.baseAddress!
            p.storeBytes(of: UInt32(1), toByteOffset: 16, as: UInt32.self)  // CU_MEMORYTYPE_HOST
            p.storeBytes(of: UInt(bitPattern: host.bytes.baseAddress), toByteOffset: 24, as: UInt.self)
            p.storeBytes(of: width, toByteOffset: 48, as: Int.self)
            p.storeBytes(of: UInt32(2), toByteOffset: 72, as: UInt32.self)  // CU_MEMORYTYPE_DEVICE
            p.storeBytes(of: ptr(tensor), toByteOffset: 88, as: CUdeviceptr.self)
            p.storeBytes(of: pitch, toByteOffset: 104, as: Int.self)
            p.storeBytes(of: width, toByteOffset: 112, as: Int.self)
            p.storeBytes(of: rows, toByteOffset: 120, as: Int.self)
            try driver.check(driver.cuMemcpy2DAsync(UnsafeRawPointer(p), stream), "copy rows")
        }
    }

    /// Captures in relaxed mode, so that the caching allocator may still call cuMemAlloc.
    public func capture(_ body: @escaping () throws -> Tensor) throws -> (graph: any CapturedGraph, output: Tensor)? {
        try driver.check(driver.cuStreamBeginCapture(stream, 2), "cuStreamBeginCapture")
        let output: Tensor
        do {
            output = try body()
        } catch {
            var g: CUhandle = nil
            _ = driver.cuStreamEndCapture(stream, &g)
            if g != nil { _ = driver.cuGraphDestroy(g) }
            throw error
        }
        var graph: CUhandle = nil
        try driver.check(driver.cuStreamEndCapture(stream, &graph), "cuStreamEndCapture")
        defer { _ = driver.cuGraphDestroy(graph) }
        var exec: CUhandle = nil
        try driver.check(driver.cuGraphInstantiateWithFlags(&exec, graph, 0), "cuGraphInstantiate")
        return (CUDAGraph(exec: exec, backend: self), output)
    }
}
