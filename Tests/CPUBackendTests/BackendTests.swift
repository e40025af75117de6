import Testing
import Tensors
import CPUBackend

/// Memory behaviour and threading of the backend itself.
@Suite struct BackendTests {
    @Test func uploadAliasesHostBytes() throws {
        // Zero-copy: writes to the host bytes after upload are visible through the tensor.
        let owned = OwnedBytes(count: 4 * 4)
        let floats = owned.pointer.bindMemory(to: Float.self, capacity: 4)
        for i in 0..<4 { floats[i] = Float(i) }
        let t = try backend.upload(HostTensor(shape: [4], dtype: .f32, bytes: owned.buffer, owner: owned))
        floats[2] = 42
        #expect(try backend.download(t) == [0, 1, 42, 3])
    }

    @Test func uploadKeepsOwnerAlive() throws {
        var t: Tensor?
        do {
            let owned = OwnedBytes(count: 8)
            owned.pointer.bindMemory(to: Int32.self, capacity: 2).initialize(repeating: 7, count: 2)
            t = try backend.upload(HostTensor(shape: [2], dtype: .i32, bytes: owned.buffer, owner: owned))
        }
        #expect(try backend.download(t!) == [7, 7])
    }

    @Test func kvCacheIsZeroed() throws {
        let cache = try backend.allocateKVCache(numBlocks: 3, blockSize: 16, numKVHeads: 2, headDim: 8)
        #expect(cache.key.shape == [3, 16, 2, 8])
        #expect(try backend.download(cache.value).allSatisfy { $0 == 0 })
    }

    @Test(arguments: [1, 3])
    func resultsDoNotDependOnThreadCount(threads: Int) throws {
        // Every output element is computed by exactly one task, the same way whatever the split.
        let local = CPUBackend(threads: threads)
        var rng = SeededRandom(seed: 99)
        let m = 301, k = 256
        let w = try uploadBytes(randomWeightBytes(.q4_1, m: m, k: k, rng: &rng), shape: [m, k], dtype: .q4_1)
        for n in [1, 40] {
            let x = try upload(rng.floats(n * k), [n, k])
            let a = try local.download(local.linear(x, weight: w, bias: nil))
            let b = try backend.download(backend.linear(x, weight: w, bias: nil))
            #expect(a == b)
        }
        // Many small ops in a row exercise the pool's wake/sleep handshake.
        let v = try upload([Float](repeating: 1, count: 1000), [1000])
        var acc = v
        for _ in 0..<500 { acc = try local.add(acc, v) }
        #expect(try local.download(acc).allSatisfy { $0 == 501 })
    }

    @Test func poolSurvivesManyJobsFromConcurrentCallers() async throws {
        // Four callers share one backend (allowed, serialized inside) while two more use their own pools:
        // every result must match the single-threaded one.
        var rng = SeededRandom(seed: 5)
        let m = 97, k = 64, n = 9
        let w = try uploadBytes(randomWeightBytes(.q8_0, m: m, k: k, rng: &rng), shape: [m, k], dtype: .q8_0)
        let xs = rng.floats(n * k)
        let reference = CPUBackend(threads: 1)
        // n = 9 and n = 1 take different kernels (different rounding), so each has its own reference.
        let want = try reference.download(reference.linear(upload(xs, [n, k]), weight: w, bias: nil))
        let want1 = try reference.download(reference.linear(upload(Array(xs[0..<k]), [1, k]), weight: w, bias: nil))
        let shared = CPUBackend(threads: 3)
        try await withThrowingTaskGroup(of: Bool.self) { group in
            for caller in 0..<6 {
                group.addTask {
                    let b = caller < 4 ? shared : CPUBackend(threads: 2)
                    let x = try b.upload(.f32(xs, shape: [n, k]))
                    for i in 0..<200 {
                        let rows = i % 2 == 0 ? x : x.rows(0..<1)
                        let y = try b.download(b.linear(rows, weight: w, bias: nil))
                        if y != (i % 2 == 0 ? want : want1) { return false }
                    }
                    return true
                }
            }
            for try await ok in group { #expect(ok) }
        }
    }
}
