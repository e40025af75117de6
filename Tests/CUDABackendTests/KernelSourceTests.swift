import CUDABackend
import Testing

/// Checks on the kernel sources that need no GPU.
struct KernelSourceTests {
    /// Kernels are launched with programmatic dependent launch: one that reads its inputs before
    /// `pdl_wait()` could see the previous kernel's results half written.
    @Test func everyKernelWaitsForItsPredecessorFirst() throws {
        let source = KernelSources.all
        var kernels = 0
        var searchStart = source.startIndex
        while let entry = source.range(of: "extern \"C\" __global__", range: searchStart..<source.endIndex) {
            let brace = try #require(source[entry.upperBound...].firstIndex(of: "{"))
            let body = source[source.index(after: brace)...].drop { $0.isWhitespace || $0 == "\\" }
            let signature = String(source[entry.upperBound..<brace]).replacing(/__launch_bounds__\([^)]*\)/, with: "")
                .split(separator: "(").first ?? ""
            let name = signature.split(separator: " ").last ?? ""
            if let callee = Self.pdlCallee(body) {
                // A `*_pdl` device function may read weights first; it must still wait itself.
                let definition = try #require(source.range(of: " \(callee)("), "\(callee) has no definition")
                let calleeBody = source[definition.upperBound...].prefix(4000)
                #expect(calleeBody.contains("pdl_wait();"), "\(callee), called first by kernel \(name), must call pdl_wait()")
            } else {
                #expect(body.hasPrefix("pdl_wait("), "kernel \(name) must call pdl_wait() first (scripts/add_pdl_wait.py adds it)")
            }
            kernels += 1
            searchStart = brace
        }
        #expect(kernels > 20)
    }

    /// The name of the function a kernel body calls first when it ends in `_pdl`, else nil.
    static func pdlCallee(_ body: Substring) -> Substring? {
        let call = body.prefix { $0 != "(" && $0 != ";" }
        guard call.hasSuffix("_pdl"), call.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else { return nil }
        return call
    }
}
