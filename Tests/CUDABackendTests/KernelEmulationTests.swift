import CUDABackend
import Foundation
import Testing

/// The kernels run on the CPU under `Emulation/emu.h` (a fiber per CUDA thread, warp-level PTX
/// emulated), against references in double (`Emulation/harness.cpp`), built with AddressSanitizer
/// so that a read or write past a buffer fails as compute-sanitizer would. CI has no GPU: this is
/// what checks a kernel's indexing (fragments, tiles, pipeline stages, tails) before a GPU sees it.
/// The GEMV and attention checks cover kernels that have passed gpu-check on an H100, so they vouch
/// for the emulator itself.
struct KernelEmulationTests {
    @Test func kernelsMatchTheirReferencesUnderEmulation() throws {
        let emulation = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appending(path: "Emulation")
        let work = FileManager.default.temporaryDirectory.appending(path: "osprey-emu-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }

        let (source, cut) = try KernelEmulation.emulatedSource(KernelSources.all)
        #expect(cut.contains("mma_bf16") && cut.contains("cp_async16") && cut.contains("ldsm_x4"))
        try source.write(to: work.appending(path: "kernels.cpp"), atomically: true, encoding: .utf8)

        let compiler = try #require(KernelEmulation.cxx(), "no C++ compiler (clang++ ships with Swift)")
        let build = try KernelEmulation.run(compiler, ["-std=c++20", "-O1", "-g1", "-fsanitize=address", "-w", "-I", work.path, "-I", emulation.path,
                                                       emulation.appending(path: "harness.cpp").path, "-o", work.appending(path: "harness").path])
        try #require(build.status == 0, "the kernels do not compile under emu.h (a function with inline PTX needs an emulation there):\n\(build.output)")

        // Two processes (the harness is single-threaded), with about the same work each.
        let harness = work.appending(path: "harness").path, asan = ["ASAN_OPTIONS": "detect_leaks=0"]
        let first = try KernelEmulation.start(harness, ["prefill", "moe"], environment: asan)
        let second = try KernelEmulation.start(harness, ["gemv", "elementwise", "router", "split", "argmax", "decode"], environment: asan)
        let results = [KernelEmulation.finish(first), KernelEmulation.finish(second)]
        let output = results.map(\.output).joined(separator: "\n")
        let checks = output.split(separator: "\n").filter { $0.hasSuffix(" ok") || $0.hasSuffix(" FAIL") }
        #expect(results.allSatisfy { $0.status == 0 }, "\(output)")
        // 3 GEMVs, 8 norm / residual / SiLU lines, 3 routers (ids and weights), the split four tokens
        // a warp, the greedy argmax,
        // 3 SIMT decode attentions, the MoE float tiles and grouped GEMVs; and under two draws of
        // cp.async landing times each, 3 prefill and 4 tensor-core decode attentions, the fused
        // q/k/v decode for both cache types (4 lines each) and the MoE tensor-core tiles.
        #expect(checks.count == 56, "\(output)")
        #expect(checks.allSatisfy { $0.hasSuffix(" ok") }, "\(output)")
    }

    /// The rewrite cuts a function with inline PTX whole, template line included, and leaves kernels alone.
    @Test func ptxFunctionsAreCutAndTheRestKept() throws {
        let source = """
            template <int N> __device__ __forceinline__ void wait() { asm volatile("cp.async.wait_group %0;" ::"n"(N) : "memory"); }
            __device__ __forceinline__ float ex2(float x) {
                float r;
                asm("ex2.approx.ftz.f32 %0, %1;" : "=f"(r) : "f"(x));
                return r;
            }
            __device__ float twice(float x) { return 2 * x; }
            extern "C" __global__ void k(float* p) {
                extern __shared__ __align__(16) float sm[];
                p[0] = ex2(sm[0]);
            }
            """
        let (out, cut) = try KernelEmulation.emulatedSource(source)
        #expect(cut == ["wait", "ex2"])
        #expect(!out.contains("asm"))
        #expect(out.contains("__device__ float twice(float x) { return 2 * x; }"))
        #expect(out.contains("float* sm = (float*)emu::dynamicSmem;"))
        #expect(throws: KernelEmulation.Failure.self) {
            try KernelEmulation.emulatedSource("extern \"C\" __global__ void k() {\n    asm(\"trap;\");\n}\n")
        }
    }
}

enum KernelEmulation {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// The kernel sources as C++ for `emu.h`: each function that holds inline PTX (`asm`) is cut out,
    /// since emu.h defines it, and `extern __shared__` arrays point at the emulator's dynamic shared
    /// memory. Returns the names of the functions cut.
    static func emulatedSource(_ source: String) throws -> (text: String, cut: [String]) {
        let lines = source.split(separator: "\n", omittingEmptySubsequences: false)
        var out: [Substring] = [], cut: [String] = []
        var i = 0
        while i < lines.count {
            let line = lines[i]
            guard line.hasPrefix("__device__") || line.hasPrefix("template") || line.hasPrefix("extern \"C\"") else {
                out.append(line)
                i += 1
                continue
            }
            // A top-level definition: up to the brace that closes its body (or a declaration's `;`).
            var end = i, depth = 0, opened = false
            while end < lines.count {
                depth += lines[end].count { $0 == "{" } - lines[end].count { $0 == "}" }
                opened = opened || lines[end].contains("{")
                if opened ? depth == 0 : lines[end].hasSuffix(";") { break }
                end += 1
            }
            let definition = lines[i...min(end, lines.count - 1)]
            if definition.contains(where: { $0.contains(/\basm\s*(volatile\s*)?\(/) }) {
                let head = definition.joined(separator: "\n").split(separator: "(").first ?? ""
                let name = String(head.split(whereSeparator: { $0 == " " || $0 == "\n" }).last ?? "")
                if line.hasPrefix("extern \"C\"") {
                    throw Failure(description: "kernel \(name) holds inline PTX itself; move it into a __device__ function emu.h can define")
                }
                cut.append(name)
                out.append("// \(name): defined by emu.h")
            } else {
                out.append(contentsOf: definition)
            }
            i = end + 1
        }
        let text = out.joined(separator: "\n")
            .replacing(/extern __shared__ (?:__align__\(\d+\) )?(\w+) (\w+)\[\];/) { "\($0.1)* \($0.2) = (\($0.1)*)emu::dynamicSmem;" }
        return (text, cut)
    }

    /// The first C++ compiler on PATH.
    static func cxx() -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin"
        for name in ["clang++", "c++", "g++"] {
            for dir in path.split(separator: ":") {
                let candidate = "\(dir)/\(name)"
                if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            }
        }
        return nil
    }

    static func run(_ executable: String, _ arguments: [String], environment: [String: String] = [:]) throws -> (status: Int32, output: String) {
        finish(try start(executable, arguments, environment: environment))
    }

    /// Starts `executable` with its output (and errors) in a pipe.
    static func start(_ executable: String, _ arguments: [String], environment: [String: String] = [:]) throws -> (Process, Pipe) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        return (process, pipe)
    }

    /// Its exit status and output once it ends; one stuck in a loop is stopped after 15 minutes (a run takes ~1).
    static func finish(_ started: (Process, Pipe)) -> (status: Int32, output: String) {
        let (process, pipe) = started
        let watchdog = DispatchWorkItem { if process.isRunning { process.terminate() } }
        DispatchQueue.global().asyncAfter(deadline: .now() + 900, execute: watchdog)
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        watchdog.cancel()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}
