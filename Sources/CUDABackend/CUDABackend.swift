import Foundation
import Tensors

/// The NVIDIA GPU implementation of `Backend`: bf16 activations and KV cache, bf16 weights
/// (float checkpoints are converted on upload), cuBLASLt for matrix products and NVRTC-compiled
/// kernels for the rest. Everything runs in order on one stream; the host only waits when it
/// downloads a result.
public final class CUDABackend: Backend, @unchecked Sendable {
    public let name: String
    public let activationDType: DType = .bf16
    public let deviceName: String
    public let computeCapability: Int
    public let multiprocessorCount: Int
    /// Shared memory a block may opt in to, and a multiprocessor's total (bytes).
    let maxSharedPerBlock: Int
    let maxSharedPerMultiprocessor: Int
    let driver: CUDADriver
    /// The device's primary context, current on the thread that made the backend and on any
    /// thread that calls `attachToCurrentThread`.
    let context: CUhandle
    let allocator: DeviceAllocator
    let stream: CUhandle
    let module: CUhandle
    let blas: CuBLASLt
    private var functions: [String: CUhandle] = [:]
    /// The dynamic shared memory each function has been allowed (set once, before any graph capture).
    private var sharedAllowed: [String: Int] = [:]
    /// The attention plan of the forward pass in progress (see `attentionPlan`).
    var lastAttentionPlan: AttentionPlan?

    private let workspace: CUDAStorage
    /// Page-locked buffers for draws on their way back (see `enqueueSample`).
    let samplingStaging = SamplingStaging()

    /// Opens GPU `device` (0 by default), compiling the kernels on first use on this machine.
    public init(device: Int = 0) throws {
        let driver = try CUDADriver()
        try driver.check(driver.cuInit(0), "cuInit")
        var count: Int32 = 0
        try driver.check(driver.cuDeviceGetCount(&count), "cuDeviceGetCount")
        guard device < count else { throw BackendError.unsupported("CUDA device \(device) asked for, \(count) found") }
        var dev: Int32 = 0
        try driver.check(driver.cuDeviceGet(&dev, Int32(device)), "cuDeviceGet")
        var ctx: CUhandle = nil
        try driver.check(driver.cuDevicePrimaryCtxRetain(&ctx, dev), "cuDevicePrimaryCtxRetain")
        try driver.check(driver.cuCtxSetCurrent(ctx), "cuCtxSetCurrent")
        var nameBytes = [CChar](repeating: 0, count: 256)
        _ = driver.cuDeviceGetName(&nameBytes, 256, dev)
        let deviceName = String(decoding: nameBytes.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        func attribute(_ a: CUDeviceAttribute) throws -> Int {
            var v: Int32 = 0
            try driver.check(driver.cuDeviceGetAttribute(&v, a.rawValue, dev), "cuDeviceGetAttribute")
            return Int(v)
        }
        let capability = try attribute(.computeCapabilityMajor) * 10 + attribute(.computeCapabilityMinor)
        multiprocessorCount = try attribute(.multiprocessorCount)
        maxSharedPerBlock = try attribute(.maxSharedMemoryPerBlockOptin)
        maxSharedPerMultiprocessor = try attribute(.maxSharedMemoryPerMultiprocessor)
        var s: CUhandle = nil
        try driver.check(driver.cuStreamCreate(&s, 1), "cuStreamCreate")  // non-blocking: capturable
        let allocator = DeviceAllocator(driver: driver)
        let cubin = try NVRTC.cubin(source: KernelSources.all, arch: capability)
        var m: CUhandle = nil
        try cubin.withUnsafeBytes { try driver.check(driver.cuModuleLoadData(&m, $0.baseAddress!), "cuModuleLoadData") }
        let workspaceSize = 32 << 20
        let workspace = try allocator.allocate(workspaceSize, pooled: false)
        blas = try CuBLASLt(workspace: workspace.pointer, workspaceSize: workspaceSize)
        self.driver = driver
        self.context = ctx
        self.deviceName = deviceName
        self.computeCapability = capability
        self.name = "cuda:\(device) (\(deviceName))"
        self.stream = s
        self.allocator = allocator
        self.module = m
        self.workspace = workspace
    }

    public func attachToCurrentThread() throws {
        try driver.check(driver.cuCtxSetCurrent(context), "cuCtxSetCurrent")
    }

    // MARK: memory

    public func upload(_ host: HostTensor) throws -> Tensor {
        guard host.dtype == .f32 || host.dtype == .bf16 || host.dtype == .f16 || host.dtype == .i32 else {
            throw BackendError.unsupported("\(host.dtype) weights on the GPU (GGUF quantized models run with --device cpu)")
        }
        // Small uploads (a step's metadata) come from the cache: cuMemFree would synchronise the
        // device every step. Large ones (weights) are exact allocations.
        let storage = try allocator.allocate(host.bytes.count, pooled: host.bytes.count < 16 << 20)
        if host.bytes.count > 0 {
            try driver.check(driver.cuMemcpyHtoDAsync(storage.pointer, host.bytes.baseAddress, host.bytes.count, stream), "upload")
        }
        return Tensor(shape: host.shape, dtype: host.dtype, storage: storage)
    }

    /// Matrices go to bf16, the dtype of the matrix kernels (as vLLM's `--dtype auto` does for
    /// float32 checkpoints).
    public func uploadMatrix(_ host: HostTensor) throws -> Tensor {
        switch host.dtype {
        case .bf16: return try upload(host)
        case .f32, .f16: return try upload(host.convertedToBF16())
        default: return try upload(host)
        }
    }

    /// Dummy matrices are generated on the device (`dummy_fill_bf16`): the 8B model's 16 GB need
    /// no host generation or upload.
    public func generateDummyMatrix(shape: [Int], parts: [(seed: UInt64, count: Int)]) throws -> Tensor? {
        let count = shape.reduce(1, *)
        guard parts.reduce(0, { $0 + $1.count }) == count else {
            throw BackendError.failure("dummy matrix \(shape) from parts of \(parts.map(\.count)) elements")
        }
        let storage = try allocator.allocate(count * 2, pooled: count * 2 < 16 << 20)
        var offset = 0
        for part in parts where part.count > 0 {
            let blocks = min((part.count + 255) / 256, 16 * multiprocessorCount)
            try launch("dummy_fill_bf16", grid: (blocks, 1, 1), block: 256,
                       [.ptr(storage.pointer + CUdeviceptr(2 * offset)), .i64(part.count),
                        .i64(Int(truncatingIfNeeded: part.seed)), .f32(DummyValues.scale)])
            offset += part.count
        }
        return Tensor(shape: shape, dtype: .bf16, storage: storage)
    }

    public func download(_ tensor: Tensor) throws -> [Float] {
        let count = tensor.count
        guard count > 0 else { return [] }
        switch tensor.dtype {
        case .f32:
            var out = [Float](repeating: 0, count: count)
            try out.withUnsafeMutableBytes { try copyToHost($0.baseAddress!, tensor, bytes: count * 4) }
            return out
        case .i32:
            var out = [Int32](repeating: 0, count: count)
            try out.withUnsafeMutableBytes { try copyToHost($0.baseAddress!, tensor, bytes: count * 4) }
            return out.map { Float($0) }
        case .bf16:
            var raw = [UInt16](repeating: 0, count: count)
            try raw.withUnsafeMutableBytes { try copyToHost($0.baseAddress!, tensor, bytes: count * 2) }
            return raw.map { Float(bitPattern: UInt32($0) << 16) }
        case .f16:
            var raw = [UInt16](repeating: 0, count: count)
            try raw.withUnsafeMutableBytes { try copyToHost($0.baseAddress!, tensor, bytes: count * 2) }
            return raw.map { Float(Float16(bitPattern: $0)) }
        case .f8e4m3:
            var raw = [UInt8](repeating: 0, count: count)
            try raw.withUnsafeMutableBytes { try copyToHost($0.baseAddress!, tensor, bytes: count) }
            return raw.map { Float(e4m3: $0) }
        default:
            throw BackendError.unsupported("download of \(tensor.dtype)")
        }
    }

    func copyToHost(_ dst: UnsafeMutableRawPointer, _ t: Tensor, bytes: Int) throws {
        try driver.check(driver.cuMemcpyDtoHAsync(dst, ptr(t), bytes, stream), "download")
        try synchronize()
    }

    public func synchronize() throws {
        try driver.check(driver.cuStreamSynchronize(stream), "cuStreamSynchronize")
    }

    /// Kernels are queued on the stream; the host only waits at downloads and `synchronize`.
    public var runsAsynchronously: Bool { true }

    public func allocateKVCache(numBlocks: Int, blockSize: Int, numKVHeads: Int, headDim: Int, dtype: DType) throws -> KVCacheLayer {
        guard headDim % 8 == 0, headDim <= 256 else {
            throw BackendError.unsupported("head_dim \(headDim) on the GPU (multiples of 8 up to 256)")
        }
        switch dtype {
        case .bf16: break
        case .f8e4m3 where computeCapability >= 89: break
        case .f8e4m3:
            throw BackendError.unsupported("an FP8 KV cache needs compute capability 8.9 or later (this GPU: \(computeCapability / 10).\(computeCapability % 10))")
        default: throw BackendError.unsupported("a \(dtype) KV cache on the GPU (bf16 or fp8_e4m3)")
        }
        let shape = [numBlocks, blockSize, numKVHeads, headDim]
        let bytes = dtype.byteCount(elements: shape.reduce(1, *))
        func zeroed() throws -> Tensor {
            let s = try allocator.allocate(bytes, pooled: false)
            try driver.check(driver.cuMemsetD8Async(s.pointer, 0, bytes, stream), "memset")
            return Tensor(shape: shape, dtype: dtype, storage: s)
        }
        return KVCacheLayer(key: try zeroed(), value: try zeroed())
    }

    public func memoryInfo() -> (free: Int, total: Int)? {
        var free = 0, total = 0
        guard driver.cuMemGetInfo(&free, &total) == 0 else { return nil }
        return (free, total)
    }

    // MARK: helpers

    func ptr(_ t: Tensor) -> CUdeviceptr {
        guard let s = t.storage as? CUDAStorage else { preconditionFailure("tensor does not live on the CUDA backend") }
        return s.pointer + UInt64(t.offset)
    }

    /// A fresh activation tensor from the caching allocator (contents undefined).
    func empty(_ shape: [Int], dtype: DType = .bf16) throws -> Tensor {
        let bytes = dtype.byteCount(elements: shape.reduce(1, *))
        return Tensor(shape: shape, dtype: dtype, storage: try allocator.allocate(bytes, pooled: true))
    }

    func function(_ name: String) throws -> CUhandle {
        if let f = functions[name] { return f }
        var f: CUhandle = nil
        try driver.check(driver.cuModuleGetFunction(&f, module, name), "cuModuleGetFunction(\(name))")
        functions[name] = f
        return f
    }

    enum Arg {
        case ptr(CUdeviceptr)
        case i32(Int)
        case i64(Int)
        case f32(Float)
    }

    /// Programmatic dependent launch (sm_90): each kernel may be scheduled while the previous one
    /// drains; every kernel begins with `pdl_wait()` (common.cu), which holds it until the
    /// previous kernel's results are visible. It hides the gap between the many short kernels of a
    /// decode step. `OSPREY_PDL=0` turns it off.
    var usesProgrammaticLaunch: Bool { computeCapability >= 90 && driver.cuLaunchKernelEx != nil && Self.pdlEnabled }
    private static let pdlEnabled = ProcessInfo.processInfo.environment["OSPREY_PDL"] != "0"

    /// A CUlaunchConfig (56 bytes) with one CUlaunchAttribute (72 bytes):
    /// CU_LAUNCH_ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION (6) = 1.
    private func withProgrammaticLaunchConfig(grid: (Int, Int, Int), block: Int, shared: Int,
                                              _ body: (UnsafeRawPointer) throws -> Void) throws {
        // On the stack: this runs for every launch.
        try withUnsafeTemporaryAllocation(byteCount: 72 + 56, alignment: 8) { buffer in
            let attribute = buffer.baseAddress!, config = attribute + 72
            buffer.initializeMemory(as: UInt8.self, repeating: 0)
            attribute.storeBytes(of: Int32(6), as: Int32.self)
            attribute.storeBytes(of: Int32(1), toByteOffset: 8, as: Int32.self)
            for (i, v) in [grid.0, grid.1, grid.2, block, 1, 1, shared].enumerated() {
                config.storeBytes(of: UInt32(v), toByteOffset: 4 * i, as: UInt32.self)
            }
            config.storeBytes(of: stream, toByteOffset: 32, as: CUhandle.self)
            config.storeBytes(of: UnsafeMutableRawPointer?(attribute), toByteOffset: 40, as: UnsafeMutableRawPointer?.self)
            config.storeBytes(of: UInt32(1), toByteOffset: 48, as: UInt32.self)
            try body(UnsafeRawPointer(config))
        }
    }

    /// Launches kernel `name` on the stream with `args` in the kernel's parameter order.
    /// `preferShared` asks for the largest shared-memory carveout (occupancy of kernels that stage
    /// most of their data there).
    func launch(_ name: String, grid: (Int, Int, Int), block: Int, shared: Int = 0, preferShared: Bool = false,
                _ args: [Arg]) throws {
        let f = try function(name)
        guard grid.0 <= Int(Int32.max), grid.1 <= 65_535, grid.2 <= 65_535 else {  // the driver says only "invalid argument"
            throw BackendError.failure("launch \(name): grid \(grid) is over the device's limits (x below 2^31, y and z at most 65,535)")
        }
        if shared > 48 * 1024 || preferShared, shared > sharedAllowed[name] ?? (preferShared ? -1 : 48 * 1024) {
            // CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, CU_FUNC_ATTRIBUTE_PREFERRED_SHARED_MEMORY_CARVEOUT
            if shared > 48 * 1024 { try driver.check(driver.cuFuncSetAttribute(f, 8, Int32(shared)), "shared memory for \(name)") }
            if preferShared { _ = driver.cuFuncSetAttribute(f, 9, 100) }
            sharedAllowed[name] = shared
        }
        var storage = [UInt64](repeating: 0, count: args.count)
        try storage.withUnsafeMutableBufferPointer { buf in
            var pointers = [UnsafeMutableRawPointer?]()
            pointers.reserveCapacity(args.count)
            for (i, arg) in args.enumerated() {
                let slot = UnsafeMutableRawPointer(buf.baseAddress! + i)
                switch arg {
                case .ptr(let p): slot.storeBytes(of: p, as: UInt64.self)
                case .i32(let v): slot.storeBytes(of: Int32(v), as: Int32.self)
                case .i64(let v): slot.storeBytes(of: Int64(v), as: Int64.self)
                case .f32(let v): slot.storeBytes(of: v, as: Float.self)
                }
                pointers.append(slot)
            }
            try pointers.withUnsafeMutableBufferPointer { p in
                if usesProgrammaticLaunch, let launchEx = driver.cuLaunchKernelEx {
                    try withProgrammaticLaunchConfig(grid: grid, block: block, shared: shared) { config in
                        try driver.check(launchEx(config, f, p.baseAddress, nil), "launch \(name)")
                    }
                } else {
                    try driver.check(driver.cuLaunchKernel(f, UInt32(grid.0), UInt32(grid.1), UInt32(grid.2), UInt32(block), 1, 1,
                                                           UInt32(shared), stream, p.baseAddress, nil), "launch \(name)")
                }
            }
        }
    }
}
