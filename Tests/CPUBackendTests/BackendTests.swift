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
}
