import Foundation
import Tensors

/// Sampling on the GPU (`Kernels/sampling.cu`): logit edits on a copy of the rows, a split
/// argmax that gives greedy tokens and each row's maximum, one block per sampled row for the
/// filters and the draw, and one per row asking for logprobs. One small download brings back
/// the tokens, logprobs and ranks.
extension CUDABackend {
    public var supportsSampling: Bool { true }

    /// `SampleSpec`'s and `EditSpec`'s sizes in 32-bit words, and a sample's words in the output.
    private static let specWords = 12, editWords = 6
    static let outWords = 3 + 2 * RowSampling.maxTopLogprobs

    public func sample(_ logits: Tensor, rows: [RowSampling], edits: [LogitEdit]) throws -> [SampledToken] {
        try enqueueSample(logits, rows: rows, edits: edits).wait()
    }

    public var supportsAsyncScheduling: Bool { true }

    /// Enqueues the draws and an asynchronous copy of their results into page-locked host memory,
    /// then an event: `wait()` waits for that event only, not for work enqueued after it.
    public func enqueueSample(_ logits: Tensor, rows: [RowSampling], edits: [LogitEdit]) throws -> any PendingSamples {
        guard logits.dtype == .f32, logits.shape.count == 2 else {
            throw BackendError.unsupported("sampling from \(logits.dtype) logits of shape \(logits.shape) (f32 [rows, vocab])")
        }
        let n = rows.count, vocab = logits.lastDim
        guard n > 0 else { return ResolvedSamples([]) }
        let specs = try upload(.i32(Self.pack(rows), shape: [n * Self.specWords]))
        var work = logits
        if !edits.isEmpty {
            // Edits change a copy: logprobs are of the raw logits.
            work = try empty(logits.shape, dtype: .f32)
            try driver.check(driver.cuMemcpyDtoDAsync(ptr(work), ptr(logits), logits.byteCount, stream), "copy logits")
            let packed = try upload(.i32(Self.pack(edits), shape: [edits.count * Self.editWords]))
            let saved = try empty([edits.count], dtype: .f32)
            let grid = ((edits.count + 255) / 256, 1, 1)
            try launch("logit_edits_gather", grid: grid, block: 256,
                       [.ptr(ptr(work)), .ptr(ptr(specs)), .ptr(ptr(packed)), .ptr(ptr(saved)), .i32(edits.count), .i32(vocab)])
            if rows.contains(where: \.restricted) {
                try launch("logit_mask_rows", grid: ((vocab + 1023) / 1024, n, 1), block: 256,
                           [.ptr(ptr(work)), .ptr(ptr(specs)), .i32(vocab)])
            }
            try launch("logit_edits_apply", grid: grid, block: 256,
                       [.ptr(ptr(work)), .ptr(ptr(specs)), .ptr(ptr(packed)), .ptr(ptr(saved)), .i32(edits.count), .i32(vocab)])
        }
        let out = try empty([n * Self.outWords], dtype: .i32)
        // Enough blocks to fill the GPU even for one row (a whole-row block takes 65 µs at 152k).
        let splits = max(1, min((264 + n - 1) / n, (vocab + 1023) / 1024))
        let partialValues = try empty([n * splits], dtype: .f32), partialIndices = try empty([n * splits], dtype: .i32)
        let maxima = try empty([n], dtype: .f32)
        try launch("row_argmax_partial", grid: (splits, n, 1), block: 256,
                   [.ptr(ptr(work)), .ptr(ptr(specs)), .ptr(ptr(partialValues)), .ptr(ptr(partialIndices)), .i32(vocab)])
        try launch("row_argmax_final", grid: (n, 1, 1), block: 32,
                   [.ptr(ptr(partialValues)), .ptr(ptr(partialIndices)), .i32(splits), .ptr(ptr(maxima)), .ptr(ptr(out))])
        if rows.contains(where: { $0.invTemperature != 0 }) {
            // Rows without filters get their draw's mass summed in slices by many blocks first
            // (sample_rows then walks one slice) when few rows would leave most of the GPU idle
            // (at least 4 argmax splits a row: up to ~66 rows on an H100).
            let chunk = ((vocab + splits - 1) / splits + 127) / 128 * 128, slices = (vocab + chunk - 1) / chunk
            var sliceMass: Tensor?, sliceLast: Tensor?
            if splits >= 4, rows.contains(where: { $0.invTemperature != 0 && Self.unfiltered($0, vocab: vocab) }) {
                // f64 masses, as pairs of 32-bit words.
                let mass = try empty([2 * n * slices], dtype: .i32), last = try empty([n * slices], dtype: .i32)
                try launch("sample_mass_partial", grid: (slices, n, 1), block: 256,
                           [.ptr(ptr(work)), .ptr(ptr(specs)), .ptr(ptr(maxima)), .ptr(ptr(mass)), .ptr(ptr(last)),
                            .i32(vocab), .i32(chunk)])
                (sliceMass, sliceLast) = (mass, last)
            }
            try launch("sample_rows", grid: (n, 1, 1), block: 512,
                       [.ptr(ptr(work)), .ptr(ptr(specs)), .ptr(ptr(maxima)), .ptr(sliceMass.map(ptr) ?? 0),
                        .ptr(sliceLast.map(ptr) ?? 0), .i32(chunk), .ptr(ptr(out)), .i32(vocab)])
        }
        if rows.contains(where: { $0.logprobs >= 0 }) {
            try launch("sample_logprobs", grid: (n, 1, 1), block: 512,
                       [.ptr(ptr(logits)), .ptr(ptr(specs)), .ptr(ptr(out)), .i32(vocab)])
        }
        let staging = try samplingStaging.take(bytes: out.byteCount, driver: driver)
        try driver.check(driver.cuMemcpyDtoHAsync(staging.host, ptr(out), out.byteCount, stream), "download draws")
        try driver.check(driver.cuEventRecord(staging.event, stream), "cuEventRecord")
        return CUDAPendingSamples(backend: self, out: out, staging: staging, logprobs: rows.map(\.logprobs))
    }

    /// ids[rows[j]] = token of draw draws[j]: one small kernel on the stream.
    public func feedSampledTokens(_ samples: any PendingSamples, draws: [Int32], into ids: Tensor, rows: [Int32]) throws {
        guard !rows.isEmpty else { return }
        guard let pending = samples as? CUDAPendingSamples, ids.dtype == .i32, draws.count == rows.count else {
            throw BackendError.failure("feedSampledTokens takes this backend's draws and i32 ids")
        }
        let pairs = try upload(.i32(zip(rows, draws).flatMap { [$0, $1] }, shape: [2 * rows.count]))
        try launch("feed_sampled_tokens", grid: ((rows.count + 127) / 128, 1, 1), block: 128,
                   [.ptr(ptr(pending.out)), .ptr(ptr(pairs)), .i32(rows.count), .ptr(ptr(ids))])
    }

    /// No top-k, min-p or top-p (sampling.cu's `unfiltered`).
    private static func unfiltered(_ r: RowSampling, vocab: Int) -> Bool {
        !(r.topK > 0 && Int(r.topK) < vocab) && !(r.logMinP > -.infinity) && r.topP >= 1
    }

    /// A draw's words in the output: token, logprob, rank, then top ids and top logprobs.
    static func decodeDraws(_ host: UnsafePointer<Int32>, logprobs: [Int32]) -> [SampledToken] {
        logprobs.enumerated().map { i, k in
            let o = i * outWords
            guard k >= 0 else { return SampledToken(token: host[o]) }
            let top = (0..<Int(k)).map { j in
                (id: host[o + 3 + j], logprob: Float(bitPattern: UInt32(bitPattern: host[o + 3 + RowSampling.maxTopLogprobs + j])))
            }
            return SampledToken(token: host[o], logprob: Float(bitPattern: UInt32(bitPattern: host[o + 1])),
                                rank: Int(host[o + 2]), top: top)
        }
    }

    /// `SampleSpec` words: row, inv_t, top_k, log_min_p, top_p (2), uniform (2), restricted,
    /// logprobs, padding (2).
    private static func pack(_ rows: [RowSampling]) -> [Int32] {
        func bits(_ f: Float) -> Int32 { Int32(bitPattern: f.bitPattern) }
        func words(_ d: Double) -> [Int32] {
            let b = d.bitPattern
            return [Int32(bitPattern: UInt32(truncatingIfNeeded: b)), Int32(bitPattern: UInt32(truncatingIfNeeded: b >> 32))]
        }
        return rows.flatMap { r in
            [r.row, bits(r.invTemperature), r.topK, bits(r.logMinP)] + words(r.topP) + words(r.uniform)
                + [r.restricted ? 1 : 0, r.logprobs, 0, 0]
        }
    }

    /// `EditSpec` words: sample, token, bias, repetition, subtract, flags (1 banned, 2 allowed).
    private static func pack(_ edits: [LogitEdit]) -> [Int32] {
        edits.flatMap { e in
            [e.sample, e.token, Int32(bitPattern: e.bias.bitPattern), Int32(bitPattern: e.repetition.bitPattern),
             Int32(bitPattern: e.subtract.bitPattern), (e.banned ? 1 : 0) | (e.allowed ? 2 : 0)]
        }
    }
}

/// Draws on their way to the host: the device buffer (kept alive for `feedSampledTokens`) and
/// the page-locked copy with the event that marks it complete.
final class CUDAPendingSamples: PendingSamples {
    let backend: CUDABackend
    let out: Tensor
    private let staging: SamplingStaging.Buffer
    private let logprobs: [Int32]
    private var results: [SampledToken]?

    init(backend: CUDABackend, out: Tensor, staging: SamplingStaging.Buffer, logprobs: [Int32]) {
        self.backend = backend
        self.out = out
        self.staging = staging
        self.logprobs = logprobs
    }

    func wait() throws -> [SampledToken] {
        if let results { return results }
        try backend.driver.check(backend.driver.cuEventSynchronize(staging.event), "cuEventSynchronize")
        let r = CUDABackend.decodeDraws(staging.host.assumingMemoryBound(to: Int32.self), logprobs: logprobs)
        results = r
        return r
    }

    deinit { backend.samplingStaging.give(staging) }
}

/// Page-locked buffers and events for draws in flight, reused: allocating page-locked memory
/// costs far more than a step's sampling. A step holds one until its draws are waited for and
/// dropped; at most a few are ever out.
final class SamplingStaging: @unchecked Sendable {
    struct Buffer {
        let host: UnsafeMutableRawPointer
        let bytes: Int
        let event: CUhandle
    }
    private var free: [Buffer] = []
    private let lock = NSLock()

    func take(bytes: Int, driver: CUDADriver) throws -> Buffer {
        lock.lock()
        if let i = free.firstIndex(where: { $0.bytes >= bytes }) {
            defer { lock.unlock() }
            return free.remove(at: i)
        }
        lock.unlock()
        let size = max(bytes, 64 << 10)
        var host: UnsafeMutableRawPointer?
        try driver.check(driver.cuMemHostAlloc(&host, size, 0), "cuMemHostAlloc")
        var event: CUhandle = nil
        try driver.check(driver.cuEventCreate(&event, 2), "cuEventCreate")  // CU_EVENT_DISABLE_TIMING
        return Buffer(host: host!, bytes: size, event: event)
    }

    func give(_ buffer: Buffer) {
        lock.lock()
        free.append(buffer)
        lock.unlock()
    }
}
