import Tensors

typealias CUdeviceptr = UInt64
/// CUcontext, CUmodule, CUfunction, CUstream, CUevent, CUgraph, CUgraphExec: opaque handles.
typealias CUhandle = UnsafeMutableRawPointer?

/// The CUDA driver API functions Osprey uses, looked up in `libcuda.so.1` (the driver, present on
/// every machine with an NVIDIA GPU; the toolkit is not needed).
struct CUDADriver: @unchecked Sendable {
    typealias Result = Int32
    let library: DynamicLibrary

    let cuInit: @convention(c) (UInt32) -> Result
    let cuDeviceGetCount: @convention(c) (UnsafeMutablePointer<Int32>) -> Result
    let cuDeviceGet: @convention(c) (UnsafeMutablePointer<Int32>, Int32) -> Result
    let cuDeviceGetAttribute: @convention(c) (UnsafeMutablePointer<Int32>, Int32, Int32) -> Result
    let cuDeviceGetName: @convention(c) (UnsafeMutablePointer<CChar>, Int32, Int32) -> Result
    let cuDevicePrimaryCtxRetain: @convention(c) (UnsafeMutablePointer<CUhandle>, Int32) -> Result
    let cuCtxSetCurrent: @convention(c) (CUhandle) -> Result
    let cuMemAlloc: @convention(c) (UnsafeMutablePointer<CUdeviceptr>, Int) -> Result
    let cuMemFree: @convention(c) (CUdeviceptr) -> Result
    let cuMemGetInfo: @convention(c) (UnsafeMutablePointer<Int>, UnsafeMutablePointer<Int>) -> Result
    let cuMemHostAlloc: @convention(c) (UnsafeMutablePointer<UnsafeMutableRawPointer?>, Int, UInt32) -> Result
    let cuMemcpyHtoDAsync: @convention(c) (CUdeviceptr, UnsafeRawPointer?, Int, CUhandle) -> Result
    let cuMemcpyDtoHAsync: @convention(c) (UnsafeMutableRawPointer?, CUdeviceptr, Int, CUhandle) -> Result
    let cuMemcpyDtoDAsync: @convention(c) (CUdeviceptr, CUdeviceptr, Int, CUhandle) -> Result
    let cuMemsetD8Async: @convention(c) (CUdeviceptr, UInt8, Int, CUhandle) -> Result
    let cuStreamCreate: @convention(c) (UnsafeMutablePointer<CUhandle>, UInt32) -> Result
    let cuStreamSynchronize: @convention(c) (CUhandle) -> Result
    let cuModuleLoadData: @convention(c) (UnsafeMutablePointer<CUhandle>, UnsafeRawPointer) -> Result
    let cuModuleGetFunction: @convention(c) (UnsafeMutablePointer<CUhandle>, CUhandle, UnsafePointer<CChar>) -> Result
    let cuFuncSetAttribute: @convention(c) (CUhandle, Int32, Int32) -> Result
    let cuLaunchKernel: @convention(c) (CUhandle, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, CUhandle,
                                        UnsafeMutablePointer<UnsafeMutableRawPointer?>?, UnsafeMutablePointer<UnsafeMutableRawPointer?>?) -> Result
    /// cuLaunchKernelEx (CUDA 12+), for launch attributes such as programmatic dependent launch.
    let cuLaunchKernelEx: (@convention(c) (UnsafeRawPointer, CUhandle, UnsafeMutablePointer<UnsafeMutableRawPointer?>?,
                                           UnsafeMutablePointer<UnsafeMutableRawPointer?>?) -> Result)?
    let cuGetErrorString: @convention(c) (Result, UnsafeMutablePointer<UnsafePointer<CChar>?>) -> Result
    let cuEventCreate: @convention(c) (UnsafeMutablePointer<CUhandle>, UInt32) -> Result
    let cuEventRecord: @convention(c) (CUhandle, CUhandle) -> Result
    let cuEventSynchronize: @convention(c) (CUhandle) -> Result
    let cuEventElapsedTime: @convention(c) (UnsafeMutablePointer<Float>, CUhandle, CUhandle) -> Result
    let cuStreamBeginCapture: @convention(c) (CUhandle, Int32) -> Result
    let cuStreamEndCapture: @convention(c) (CUhandle, UnsafeMutablePointer<CUhandle>) -> Result
    let cuGraphInstantiateWithFlags: @convention(c) (UnsafeMutablePointer<CUhandle>, CUhandle, UInt64) -> Result
    let cuGraphLaunch: @convention(c) (CUhandle, CUhandle) -> Result
    let cuGraphExecDestroy: @convention(c) (CUhandle) -> Result
    let cuGraphDestroy: @convention(c) (CUhandle) -> Result

    init() throws {
        let l = try DynamicLibrary(names: ["libcuda.so.1", "libcuda.so"])
        library = l
        cuInit = try l.symbol("cuInit")
        cuLaunchKernelEx = try? l.symbol("cuLaunchKernelEx")
        cuDeviceGetCount = try l.symbol("cuDeviceGetCount")
        cuDeviceGet = try l.symbol("cuDeviceGet")
        cuDeviceGetAttribute = try l.symbol("cuDeviceGetAttribute")
        cuDeviceGetName = try l.symbol("cuDeviceGetName")
        cuDevicePrimaryCtxRetain = try l.symbol("cuDevicePrimaryCtxRetain")
        cuCtxSetCurrent = try l.symbol("cuCtxSetCurrent")
        cuMemAlloc = try l.symbol("cuMemAlloc_v2")
        cuMemFree = try l.symbol("cuMemFree_v2")
        cuMemGetInfo = try l.symbol("cuMemGetInfo_v2")
        cuMemHostAlloc = try l.symbol("cuMemHostAlloc")
        cuMemcpyHtoDAsync = try l.symbol("cuMemcpyHtoDAsync_v2")
        cuMemcpyDtoHAsync = try l.symbol("cuMemcpyDtoHAsync_v2")
        cuMemcpyDtoDAsync = try l.symbol("cuMemcpyDtoDAsync_v2")
        cuMemsetD8Async = try l.symbol("cuMemsetD8Async")
        cuStreamCreate = try l.symbol("cuStreamCreate")
        cuStreamSynchronize = try l.symbol("cuStreamSynchronize")
        cuModuleLoadData = try l.symbol("cuModuleLoadData")
        cuModuleGetFunction = try l.symbol("cuModuleGetFunction")
        cuFuncSetAttribute = try l.symbol("cuFuncSetAttribute")
        cuLaunchKernel = try l.symbol("cuLaunchKernel")
        cuGetErrorString = try l.symbol("cuGetErrorString")
        cuEventCreate = try l.symbol("cuEventCreate")
        cuEventRecord = try l.symbol("cuEventRecord")
        cuEventSynchronize = try l.symbol("cuEventSynchronize")
        cuEventElapsedTime = try l.symbol("cuEventElapsedTime")
        cuStreamBeginCapture = try l.symbol("cuStreamBeginCapture_v2")
        cuStreamEndCapture = try l.symbol("cuStreamEndCapture")
        cuGraphInstantiateWithFlags = try l.symbol("cuGraphInstantiateWithFlags")
        cuGraphLaunch = try l.symbol("cuGraphLaunch")
        cuGraphExecDestroy = try l.symbol("cuGraphExecDestroy")
        cuGraphDestroy = try l.symbol("cuGraphDestroy")
    }

    /// Throws with the driver's own message when `result` is not CUDA_SUCCESS.
    func check(_ result: Result, _ what: @autoclosure () -> String) throws {
        guard result != 0 else { return }
        var message: UnsafePointer<CChar>?
        _ = cuGetErrorString(result, &message)
        let text = message.map { String(cString: $0) } ?? "error \(result)"
        if result == 2 { throw BackendError.outOfMemory("\(what()): \(text)") }
        throw BackendError.failure("CUDA \(what()) failed: \(text) (\(result))")
    }
}

/// Device attributes (CUdevice_attribute values).
enum CUDeviceAttribute: Int32 {
    case multiprocessorCount = 16
    case maxSharedMemoryPerMultiprocessor = 81
    case computeCapabilityMajor = 75
    case computeCapabilityMinor = 76
    case maxSharedMemoryPerBlockOptin = 97
}
