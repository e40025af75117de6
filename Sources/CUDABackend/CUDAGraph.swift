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
