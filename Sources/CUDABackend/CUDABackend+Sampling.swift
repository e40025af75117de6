import Tensors

/// Sampling on the GPU (`Kernels/sampling.cu`): logit edits on a copy of the rows, a split
/// argmax that gives greedy tokens and each row's maximum, one block per sampled row for the
/// filters and the draw, and one per row asking for logprobs. One small download brings back
/// the tokens, logprobs and ranks.
extension CUDABackend {
    public var supportsSampling: Bool { true }

    /// `SampleSpec`'s and `EditSpec`'s sizes in 32-bit words, and a sample's words in the output.
    private static let specWords = 12, editWords = 6, outWords = 3 + 2 * RowSampling.maxTopLogprobs

    public func sample(_ logits: Tensor, rows: [RowSampling], edits: [LogitEdit]) throws -> [SampledToken] {
        guard logits.dtype == .f32, logits.shape.count == 2 else {
            throw BackendError.unsupported("sampling from \(logits.dtype) logits of shape \(logits.shape) (f32 [rows, vocab])")
        }
        let n = rows.count, vocab = logits.lastDim
        guard n > 0 else { return [] }
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
            try launch("sample_rows", grid: (n, 1, 1), block: 512,
                       [.ptr(ptr(work)), .ptr(ptr(specs)), .ptr(ptr(maxima)), .ptr(ptr(out)), .i32(vocab)])
        }
        if rows.contains(where: { $0.logprobs >= 0 }) {
            try launch("sample_logprobs", grid: (n, 1, 1), block: 512,
                       [.ptr(ptr(logits)), .ptr(ptr(specs)), .ptr(ptr(out)), .i32(vocab)])
        }
        var host = [Int32](repeating: 0, count: n * Self.outWords)
        try host.withUnsafeMutableBytes { try copyToHost($0.baseAddress!, out, bytes: $0.count) }
        return rows.enumerated().map { i, row in
            let o = i * Self.outWords
            guard row.logprobs >= 0 else { return SampledToken(token: host[o]) }
            let top = (0..<Int(row.logprobs)).map { j in
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
