import Foundation
import Tensors

/// Compiles the kernel sources with NVRTC for the GPU found, caching the cubin on disk by source
/// hash and architecture so only the first start on a machine pays for compilation.
struct NVRTC: @unchecked Sendable {
    typealias Result = Int32
    let library: DynamicLibrary
    let nvrtcCreateProgram: @convention(c) (UnsafeMutablePointer<OpaquePointer?>, UnsafePointer<CChar>, UnsafePointer<CChar>?,
                                            Int32, UnsafePointer<UnsafePointer<CChar>?>?, UnsafePointer<UnsafePointer<CChar>?>?) -> Result
    let nvrtcCompileProgram: @convention(c) (OpaquePointer?, Int32, UnsafePointer<UnsafePointer<CChar>?>?) -> Result
    let nvrtcGetProgramLogSize: @convention(c) (OpaquePointer?, UnsafeMutablePointer<Int>) -> Result
    let nvrtcGetProgramLog: @convention(c) (OpaquePointer?, UnsafeMutablePointer<CChar>) -> Result
    let nvrtcGetCUBINSize: @convention(c) (OpaquePointer?, UnsafeMutablePointer<Int>) -> Result
    let nvrtcGetCUBIN: @convention(c) (OpaquePointer?, UnsafeMutablePointer<CChar>) -> Result
    let nvrtcDestroyProgram: @convention(c) (UnsafeMutablePointer<OpaquePointer?>) -> Result
    let nvrtcGetErrorString: @convention(c) (Result) -> UnsafePointer<CChar>?

    init() throws {
        let l = try DynamicLibrary(names: ["libnvrtc.so", "libnvrtc.so.13", "libnvrtc.so.12"])
        library = l
        nvrtcCreateProgram = try l.symbol("nvrtcCreateProgram")
        nvrtcCompileProgram = try l.symbol("nvrtcCompileProgram")
        nvrtcGetProgramLogSize = try l.symbol("nvrtcGetProgramLogSize")
        nvrtcGetProgramLog = try l.symbol("nvrtcGetProgramLog")
        nvrtcGetCUBINSize = try l.symbol("nvrtcGetCUBINSize")
        nvrtcGetCUBIN = try l.symbol("nvrtcGetCUBIN")
        nvrtcDestroyProgram = try l.symbol("nvrtcDestroyProgram")
        nvrtcGetErrorString = try l.symbol("nvrtcGetErrorString")
    }

    private func check(_ r: Result, _ what: String) throws {
        guard r != 0 else { return }
        let text = nvrtcGetErrorString(r).map { String(cString: $0) } ?? "error \(r)"
        throw BackendError.failure("NVRTC \(what): \(text)")
    }

    /// The cubin for `source` on compute capability `arch` (e.g. 90), from the cache when there.
    static func cubin(source: String, arch: Int) throws -> [UInt8] {
        let options = ["--gpu-architecture=sm_\(arch)", "--std=c++17", "-default-device", "--fmad=true"]
        let key = FNV1a.hash((source + options.joined(separator: " ")).utf8)
        let cacheDir = ProcessInfo.processInfo.environment["OSPREY_CACHE"]
            .map { URL(fileURLWithPath: $0) } ?? URL(fileURLWithPath: NSHomeDirectory()).appendingPathComponent(".cache/osprey")
        let cacheFile = cacheDir.appendingPathComponent("cuda/kernels-sm\(arch)-\(String(key, radix: 16)).cubin")
        if let cached = try? Data(contentsOf: cacheFile), !cached.isEmpty { return [UInt8](cached) }
        let binary = try NVRTC().compile(source: source, options: options)
        try? FileManager.default.createDirectory(at: cacheFile.deletingLastPathComponent(), withIntermediateDirectories: true)
        try? Data(binary).write(to: cacheFile, options: .atomic)
        return binary
    }

    func compile(source: String, options: [String]) throws -> [UInt8] {
        var program: OpaquePointer?
        try check(nvrtcCreateProgram(&program, source, "osprey_kernels.cu", 0, nil, nil), "create program")
        defer { _ = nvrtcDestroyProgram(&program) }
        let cOptions = options.map { strdup($0) }
        defer { cOptions.forEach { free($0) } }
        let result = cOptions.map { UnsafePointer<CChar>($0) }.withUnsafeBufferPointer { opts in
            nvrtcCompileProgram(program, Int32(opts.count), opts.baseAddress)
        }
        if result != 0 {
            var logSize = 0
            _ = nvrtcGetProgramLogSize(program, &logSize)
            var log = [CChar](repeating: 0, count: max(logSize, 1))
            _ = nvrtcGetProgramLog(program, &log)
            let text = String(decoding: log.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            throw BackendError.failure("NVRTC could not compile the kernels:\n\(text)")
        }
        var size = 0
        try check(nvrtcGetCUBINSize(program, &size), "cubin size")
        var bytes = [CChar](repeating: 0, count: size)
        try check(nvrtcGetCUBIN(program, &bytes), "get cubin")
        return bytes.map { UInt8(bitPattern: $0) }
    }

}
