import Tensors

/// The two ceilings every GPU figure is reported against, measured on the device at hand.
extension CUDABackend {
    /// Device-to-device copy bandwidth in bytes/s (bytes read plus bytes written): the decode floor.
    public func measureCopyBandwidth(bytes: Int = 1 << 30) throws -> Double {
        let a = try allocator.allocate(bytes, pooled: false), b = try allocator.allocate(bytes, pooled: false)
        try driver.check(driver.cuMemsetD8Async(a.pointer, 1, bytes, stream), "memset")
        let best = try timeBest(repeats: 5) {
            try driver.check(driver.cuMemcpyDtoDAsync(b.pointer, a.pointer, bytes, stream), "copy")
        }
        return 2 * Double(bytes) / best
    }

    /// bf16 matrix-product rate in FLOP/s: an n×n×n product through cuBLASLt on random data.
    public func measureMatmulRate(n: Int = 8192) throws -> Double {
        var state: UInt32 = 12345
        func random() -> HostTensor {
            let bytes = OwnedBytes(count: n * n * 2)
            let p = bytes.pointer.assumingMemoryBound(to: UInt16.self)
            for i in 0..<(n * n) {
                state = state &* 1664525 &+ 1013904223
                // sign, exponent of 2^-1..2^-2, random mantissa: values in ±[0.25, 1)
                p[i] = UInt16(truncatingIfNeeded: (state >> 16) & 0x807F) | 0x3E80
            }
            return HostTensor(shape: [n, n], dtype: .bf16, bytes: bytes.buffer, owner: bytes)
        }
        let a = try upload(random()), b = try upload(random())
        let c = try empty([n, n])
        let best = try timeBest(repeats: 10) {
            try blas.matmul(x: ptr(a), w: ptr(b), y: ptr(c), n: n, m: n, k: n, outType: CuBLASLt.r16BF, stream: stream)
        }
        return 2 * Double(n) * Double(n) * Double(n) / best
    }

    /// Fastest of `repeats` timed runs of `body` (after one warm-up), in seconds, by device events.
    private func timeBest(repeats: Int, _ body: () throws -> Void) throws -> Double {
        var start: CUhandle = nil, end: CUhandle = nil
        try driver.check(driver.cuEventCreate(&start, 0), "cuEventCreate")
        try driver.check(driver.cuEventCreate(&end, 0), "cuEventCreate")
        try body()
        var best = Float.infinity
        for _ in 0..<repeats {
            try driver.check(driver.cuEventRecord(start, stream), "cuEventRecord")
            try body()
            try driver.check(driver.cuEventRecord(end, stream), "cuEventRecord")
            try driver.check(driver.cuEventSynchronize(end), "cuEventSynchronize")
            var ms: Float = 0
            try driver.check(driver.cuEventElapsedTime(&ms, start, end), "cuEventElapsedTime")
            best = min(best, ms)
        }
        return Double(best) / 1e3
    }
}
