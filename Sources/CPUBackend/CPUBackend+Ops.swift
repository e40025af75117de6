import CPUKernels
import Tensors

/// Element-wise and row-wise ops.
extension CPUBackend {
    public func embedding(_ table: Tensor, ids: Tensor) throws -> Tensor {
        try check(table.shape.count == 2, "embedding table must be 2-D, got \(table.shape)")
        guard let type = table.dtype.kernelType else { throw BackendError.unsupported("embedding of \(table.dtype)") }
        let idp = try i32(ids, "ids")
        let out = empty([ids.count, table.lastDim])
        ck_embedding(pool, raw(table), type, Int64(table.shape[0]), Int64(table.lastDim), idp, Int64(ids.count),
                     try f32(out, "out"))
        return out
    }

    public func rmsNorm(_ x: Tensor, weight: Tensor, eps: Float) throws -> Tensor {
        try check(weight.count == x.lastDim, "rmsNorm weight \(weight.shape) vs x \(x.shape)")
        let out = empty(x.shape)
        ck_rms_norm(pool, try f32(x, "x"), try parameterF32(weight, "norm weight"), try f32(out, "out"),
                    Int64(x.rows), Int64(x.lastDim), eps)
        return out
    }

    public func addRMSNorm(_ x: Tensor, residual: Tensor, weight: Tensor, eps: Float) throws -> Tensor {
        try check(x.count == residual.count && x.lastDim == residual.lastDim, "addRMSNorm x \(x.shape) vs residual \(residual.shape)")
        try check(weight.count == x.lastDim, "addRMSNorm weight \(weight.shape) vs x \(x.shape)")
        let out = empty(x.shape)
        ck_add_rms_norm(pool, try f32(x, "x"), try f32(residual, "residual"), try parameterF32(weight, "norm weight"),
                        try f32(out, "out"), Int64(x.rows), Int64(x.lastDim), eps)
        return out
    }

    public func add(_ a: Tensor, _ b: Tensor) throws -> Tensor {
        try check(a.count == b.count, "add \(a.shape) + \(b.shape)")
        let out = empty(a.shape)
        ck_add(pool, try f32(a, "a"), try f32(b, "b"), try f32(out, "out"), Int64(a.count))
        return out
    }

    public func siluAndMul(_ x: Tensor) throws -> Tensor {
        try check(x.lastDim % 2 == 0, "siluAndMul needs an even last dimension, got \(x.shape)")
        let h = x.lastDim / 2
        let out = empty(Array(x.shape.dropLast()) + [h])
        ck_silu_mul(pool, try f32(x, "x"), try f32(out, "out"), Int64(x.rows), Int64(h))
        return out
    }

    public func splitQKV(_ qkv: Tensor, numHeads: Int, numKVHeads: Int, headDim: Int, qNorm: Tensor?, kNorm: Tensor?,
                         eps: Float, positions: Tensor, table: RotaryTable, store: KVCacheStore?) throws -> (q: Tensor, k: Tensor, v: Tensor) {
        let n = qkv.rows, qDim = numHeads * headDim, kvDim = numKVHeads * headDim, width = qDim + 2 * kvDim
        try check(qkv.lastDim == width, "splitQKV: qkv \(qkv.shape) is not \(numHeads) + 2 x \(numKVHeads) heads of \(headDim)")
        try check(positions.count == n, "splitQKV: \(positions.count) positions for \(n) tokens")
        try check(table.rotaryDim <= headDim && table.rotaryDim % 2 == 0, "rotaryDim \(table.rotaryDim)")
        try check(table.cos.lastDim == table.rotaryDim / 2, "cos table \(table.cos.shape) vs rotaryDim \(table.rotaryDim)")
        let src = try f32(qkv, "qkv")
        let q = empty([n, qDim]), k = empty([n, kvDim]), v = empty([n, kvDim])
        let qp = try f32(q, "q"), kp = try f32(k, "k"), vp = try f32(v, "v")
        for t in 0..<n {  // column slices are a few KB per row: plain copies
            let row = src + t * width
            (qp + t * qDim).update(from: row, count: qDim)
            (kp + t * kvDim).update(from: row + qDim, count: kvDim)
            (vp + t * kvDim).update(from: row + qDim + kvDim, count: kvDim)
        }
        // The same kernels, in the same order, as separate per-head norms and rotary (in place).
        if let qNorm {
            try check(qNorm.count == headDim, "splitQKV: q norm \(qNorm.shape) vs headDim \(headDim)")
            ck_rms_norm(pool, qp, try parameterF32(qNorm, "q norm"), qp, Int64(n * numHeads), Int64(headDim), eps)
        }
        if let kNorm, kvDim > 0 {
            try check(kNorm.count == headDim, "splitQKV: k norm \(kNorm.shape) vs headDim \(headDim)")
            ck_rms_norm(pool, kp, try parameterF32(kNorm, "k norm"), kp, Int64(n * numKVHeads), Int64(headDim), eps)
        }
        ck_rope(pool, qp, kp, try i32(positions, "positions"), Int64(n), Int64(numHeads), Int64(numKVHeads),
                Int64(headDim), Int64(table.rotaryDim), try parameterF32(table.cos, "cos"), try parameterF32(table.sin, "sin"),
                Int64(table.cos.rows), table.neoxStyle ? 1 : 0)
        if let store { try storeKV(k: k, v: v, into: store) }
        return (q, k, v)
    }

    public func gatherRows(_ x: Tensor, indices: Tensor) throws -> Tensor {
        let out = empty([indices.count, x.lastDim], dtype: x.dtype)
        ck_gather_rows(pool, raw(x), Int64(x.rows), x.dtype.byteCount(elements: x.lastDim),
                       try i32(indices, "indices"), Int64(indices.count), raw(out))
        return out
    }
}
