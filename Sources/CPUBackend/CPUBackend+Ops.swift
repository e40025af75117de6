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

    public func applyRotary(q: Tensor, k: Tensor, positions: Tensor, headDim: Int, table: RotaryTable) throws {
        let n = positions.count
        try check(q.count % (n * headDim) == 0 && k.count % (n * headDim) == 0,
                  "rotary: q \(q.shape), k \(k.shape) for \(n) positions of headDim \(headDim)")
        try check(table.rotaryDim <= headDim && table.rotaryDim % 2 == 0, "rotaryDim \(table.rotaryDim)")
        try check(table.cos.lastDim == table.rotaryDim / 2, "cos table \(table.cos.shape) vs rotaryDim \(table.rotaryDim)")
        ck_rope(pool, try f32(q, "q"), try f32(k, "k"), try i32(positions, "positions"), Int64(n),
                Int64(q.count / (n * headDim)), Int64(k.count / (n * headDim)), Int64(headDim),
                Int64(table.rotaryDim), try parameterF32(table.cos, "cos"), try parameterF32(table.sin, "sin"),
                Int64(table.cos.rows), table.neoxStyle ? 1 : 0)
    }

    public func gatherRows(_ x: Tensor, indices: Tensor) throws -> Tensor {
        let out = empty([indices.count, x.lastDim], dtype: x.dtype)
        ck_gather_rows(pool, raw(x), Int64(x.rows), x.dtype.byteCount(elements: x.lastDim),
                       try i32(indices, "indices"), Int64(indices.count), raw(out))
        return out
    }
}
