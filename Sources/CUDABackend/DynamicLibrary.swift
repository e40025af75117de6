#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Tensors

/// A shared library opened at run time, so the package builds and runs where CUDA is absent.
final class DynamicLibrary: @unchecked Sendable {
    let handle: UnsafeMutableRawPointer
    let path: String

    /// Tries each name in turn (a soname the loader finds, then the CUDA toolkit's usual folders,
    /// and `OSPREY_CUDA_LIB_DIR` first when set).
    init(names: [String]) throws {
        var dirs = ["/usr/local/cuda/lib64", "/usr/local/cuda/targets/x86_64-linux/lib", "/usr/lib/x86_64-linux-gnu"]
        if let dir = ProcessInfo.processInfo.environment["OSPREY_CUDA_LIB_DIR"] { dirs.insert(dir, at: 0) }
        var candidates = names
        for dir in dirs { candidates += names.map { "\(dir)/\($0)" } }
        var errors: [String] = []
        for candidate in candidates {
            if let h = dlopen(candidate, RTLD_NOW | RTLD_GLOBAL) {
                handle = h
                path = candidate
                return
            }
            if let e = dlerror() { errors.append(String(cString: e)) }
        }
        throw BackendError.unsupported("CUDA is not available: could not load \(names.joined(separator: " or ")) (\(errors.first ?? "not found")); set OSPREY_CUDA_LIB_DIR to the folder that holds it")
    }

    /// The C function `name` as the function type `T` (a `@convention(c)` type).
    func symbol<T>(_ name: String, as type: T.Type = T.self) throws -> T {
        guard let p = dlsym(handle, name) else {
            throw BackendError.unsupported("\(path) has no symbol \(name)")
        }
        return unsafeBitCast(p, to: T.self)
    }
}
