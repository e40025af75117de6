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
            let signature = source[entry.upperBound..<brace].split(separator: "(").first ?? ""
            #expect(body.hasPrefix("pdl_wait();"), "kernel \(signature.split(separator: " ").last ?? "") must call pdl_wait() first (scripts/add_pdl_wait.py adds it)")
            kernels += 1
            searchStart = brace
        }
        #expect(kernels > 20)
    }
}
