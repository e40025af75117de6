import Foundation
import Tensors

/// Matrix products through cuBLASLt: bf16 operands, float32 accumulation, bf16 or f32 output.
/// Descriptors and the chosen algorithm are cached per shape.
final class CuBLASLt: @unchecked Sendable {
    typealias Status = Int32
    typealias Handle = UnsafeMutableRawPointer?
    let library: DynamicLibrary
    let cublasLtCreate: @convention(c) (UnsafeMutablePointer<Handle>) -> Status
    let cublasLtMatmulDescCreate: @convention(c) (UnsafeMutablePointer<Handle>, Int32, Int32) -> Status
    let cublasLtMatmulDescSetAttribute: @convention(c) (Handle, Int32, UnsafeRawPointer, Int) -> Status
    let cublasLtMatrixLayoutCreate: @convention(c) (UnsafeMutablePointer<Handle>, Int32, UInt64, UInt64, Int64) -> Status
    let cublasLtMatmulPreferenceCreate: @convention(c) (UnsafeMutablePointer<Handle>) -> Status
    let cublasLtMatmulPreferenceSetAttribute: @convention(c) (Handle, Int32, UnsafeRawPointer, Int) -> Status
    let cublasLtMatmulAlgoGetHeuristic: @convention(c) (Handle, Handle, Handle, Handle, Handle, Handle, Handle, Int32,
                                                         UnsafeMutableRawPointer, UnsafeMutablePointer<Int32>) -> Status
    let cublasLtMatmulAlgoInit: @convention(c) (Handle, Int32, Int32, Int32, Int32, Int32, Int32, Int32,
                                                 UnsafeMutableRawPointer) -> Status
    let cublasLtMatmulAlgoConfigSetAttribute: @convention(c) (UnsafeMutableRawPointer, Int32, UnsafeRawPointer, Int) -> Status
    let cublasLtMatmulAlgoCheck: @convention(c) (Handle, Handle, Handle, Handle, Handle, Handle, UnsafeRawPointer,
                                                  UnsafeMutableRawPointer) -> Status
    let cublasLtMatmul: @convention(c) (Handle, Handle, UnsafeRawPointer, CUdeviceptr, Handle, CUdeviceptr, Handle,
                                        UnsafeRawPointer, CUdeviceptr, Handle, CUdeviceptr, Handle, UnsafeRawPointer?,
                                        CUdeviceptr, Int, CUhandle) -> Status

    // cudaDataType / cublasComputeType_t / attribute values from cublasLt.h.
    static let r32F: Int32 = 0, r16BF: Int32 = 14, compute32F: Int32 = 68
    static let descTransA: Int32 = 3, descTransB: Int32 = 4, prefMaxWorkspace: Int32 = 1
    static let heuristicResultBytes = 96, algoBytes = 64

    private var handle: Handle = nil
    let workspace: CUdeviceptr
    let workspaceSize: Int

    struct Key: Hashable { let n: Int, m: Int, k: Int, outType: Int32 }
    struct Plan {
        let desc: Handle, a: Handle, b: Handle, c: Handle
        let algo: UnsafeMutableRawPointer
    }
    private var plans: [Key: Plan] = [:]
    /// Configurations that replace the heuristic's pick for some shapes (see `ForcedAlgorithm`).
    let forcedAlgorithms = ForcedAlgorithm.parse(ProcessInfo.processInfo.environment["OSPREY_CUBLASLT_ALGOS"] ?? "")

    init(workspace: CUdeviceptr, workspaceSize: Int) throws {
        let l = try DynamicLibrary(names: ["libcublasLt.so", "libcublasLt.so.13", "libcublasLt.so.12"])
        library = l
        cublasLtCreate = try l.symbol("cublasLtCreate")
        cublasLtMatmulDescCreate = try l.symbol("cublasLtMatmulDescCreate")
        cublasLtMatmulDescSetAttribute = try l.symbol("cublasLtMatmulDescSetAttribute")
        cublasLtMatrixLayoutCreate = try l.symbol("cublasLtMatrixLayoutCreate")
        cublasLtMatmulPreferenceCreate = try l.symbol("cublasLtMatmulPreferenceCreate")
        cublasLtMatmulPreferenceSetAttribute = try l.symbol("cublasLtMatmulPreferenceSetAttribute")
        cublasLtMatmulAlgoGetHeuristic = try l.symbol("cublasLtMatmulAlgoGetHeuristic")
        cublasLtMatmul = try l.symbol("cublasLtMatmul")
        cublasLtMatmulAlgoInit = try l.symbol("cublasLtMatmulAlgoInit")
        cublasLtMatmulAlgoConfigSetAttribute = try l.symbol("cublasLtMatmulAlgoConfigSetAttribute")
        cublasLtMatmulAlgoCheck = try l.symbol("cublasLtMatmulAlgoCheck")
        self.workspace = workspace
        self.workspaceSize = workspaceSize
        try check(cublasLtCreate(&handle), "create")
    }

    private func check(_ s: Status, _ what: String) throws {
        guard s != 0 else { return }
        throw BackendError.failure("cuBLASLt \(what) failed with status \(s)")
    }

    /// y [n, m] = x [n, k] · w [m, k]ᵀ, all row-major; x and w bf16, y bf16 or f32 (`outType`).
    /// In cuBLAS's column-major terms: yᵀ (m×n) = op(W) (m×k, W stored k×m) · xᵀ (k×n).
    func matmul(x: CUdeviceptr, w: CUdeviceptr, y: CUdeviceptr, n: Int, m: Int, k: Int, outType: Int32, stream: CUhandle) throws {
        let plan = try self.plan(Key(n: n, m: m, k: k, outType: outType))
        var alpha: Float = 1, beta: Float = 0
        try check(cublasLtMatmul(handle, plan.desc, &alpha, w, plan.a, x, plan.b, &beta, y, plan.c, y, plan.c,
                                 plan.algo, workspace, workspaceSize, stream), "matmul \(n)x\(m)x\(k)")
    }

    private func plan(_ key: Key) throws -> Plan {
        if let p = plans[key] { return p }
        var desc: Handle = nil, a: Handle = nil, b: Handle = nil, c: Handle = nil, pref: Handle = nil
        try check(cublasLtMatmulDescCreate(&desc, Self.compute32F, Self.r32F), "desc")
        var transA: Int32 = 1, transB: Int32 = 0
        try check(cublasLtMatmulDescSetAttribute(desc, Self.descTransA, &transA, 4), "transa")
        try check(cublasLtMatmulDescSetAttribute(desc, Self.descTransB, &transB, 4), "transb")
        try check(cublasLtMatrixLayoutCreate(&a, Self.r16BF, UInt64(key.k), UInt64(key.m), Int64(key.k)), "layout A")
        try check(cublasLtMatrixLayoutCreate(&b, Self.r16BF, UInt64(key.k), UInt64(key.n), Int64(key.k)), "layout B")
        try check(cublasLtMatrixLayoutCreate(&c, key.outType, UInt64(key.m), UInt64(key.n), Int64(key.m)), "layout C")
        try check(cublasLtMatmulPreferenceCreate(&pref), "preference")
        var ws = UInt64(workspaceSize)
        try check(cublasLtMatmulPreferenceSetAttribute(pref, Self.prefMaxWorkspace, &ws, 8), "workspace preference")
        // Room for more than one result in case a library version grows the struct.
        let results = UnsafeMutableRawPointer.allocate(byteCount: 4096, alignment: 16)
        results.initializeMemory(as: UInt8.self, repeating: 0, count: 4096)
        if let forced = forcedAlgorithms.first(where: { $0.applies(to: key) }),
           configure(results, forced, desc: desc, a: a, b: b, c: c) {
            let p = Plan(desc: desc, a: a, b: b, c: c, algo: results)
            plans[key] = p
            return p
        }
        var found: Int32 = 0
        try check(cublasLtMatmulAlgoGetHeuristic(handle, desc, a, b, c, c, pref, 1, results, &found), "heuristic")
        guard found > 0 else { throw BackendError.unsupported("cuBLASLt has no algorithm for \(key)") }
        let p = Plan(desc: desc, a: a, b: b, c: c, algo: results)
        plans[key] = p
        return p
    }

    /// An algorithm given in full for bf16-output products of m×k weights with up to `rows` rows
    /// (and more than half as many): as `scripts/gpu/gemm_search.sh` prints them after `ALGO`,
    /// `rows:m:k=id,tile,splitk,reduction,swizzle,custom,stages,inner,cluster`, joined with `;`.
    /// `OSPREY_CUBLASLT_ALGOS` gives such a list, for A/B runs against the heuristic's pick; a
    /// configuration the library rejects for a problem falls back to the heuristic. (On an H100 the
    /// search's winners for Qwen3-8B's decode shapes did not make decode faster: README.)
    struct ForcedAlgorithm {
        let rows: Int, m: Int, k: Int
        /// CUBLASLT_ALGO_CONFIG_* 0 to 8 in order: algorithm id, tile, split-K, reduction scheme,
        /// CTA swizzling, custom option, stages, inner shape, cluster shape.
        let config: [Int32]

        func applies(to key: Key) -> Bool {
            key.outType == CuBLASLt.r16BF && key.m == m && key.k == k && key.n <= rows && 2 * key.n > rows
        }

        static func parse(_ text: String) -> [ForcedAlgorithm] {
            text.split(separator: ";").compactMap { entry in
                let sides = entry.split(separator: "=")
                guard sides.count == 2 else { return nil }
                let shape = sides[0].split(separator: ":").compactMap { Int($0) }
                let config = sides[1].split(separator: ",").compactMap { Int32($0) }
                guard shape.count == 3, config.count == 9 else { return nil }
                return ForcedAlgorithm(rows: shape[0], m: shape[1], k: shape[2], config: config)
            }
        }
    }

    /// Writes `forced` into `algo`; false when the library does not accept it for this problem.
    private func configure(_ algo: UnsafeMutableRawPointer, _ forced: ForcedAlgorithm,
                           desc: Handle, a: Handle, b: Handle, c: Handle) -> Bool {
        guard cublasLtMatmulAlgoInit(handle, Self.compute32F, Self.r32F, Self.r16BF, Self.r16BF, Self.r16BF, Self.r16BF,
                                     forced.config[0], algo) == 0 else { return false }
        for (attribute, value) in forced.config.enumerated().dropFirst() {
            // The inner and cluster shape ids (7, 8) are 16-bit, the others 32-bit.
            var v32 = value, v16 = UInt16(truncatingIfNeeded: value)
            let status = attribute >= 7 ? cublasLtMatmulAlgoConfigSetAttribute(algo, Int32(attribute), &v16, 2)
                                        : cublasLtMatmulAlgoConfigSetAttribute(algo, Int32(attribute), &v32, 4)
            guard status == 0 else { return false }
        }
        // The check's result struct: the workspace this configuration needs comes first after the algorithm.
        let result = UnsafeMutableRawPointer.allocate(byteCount: 4096, alignment: 16)
        defer { result.deallocate() }
        guard cublasLtMatmulAlgoCheck(handle, desc, a, b, c, c, algo, result) == 0 else { return false }
        return result.load(fromByteOffset: Self.algoBytes, as: Int.self) <= workspaceSize
    }
}
