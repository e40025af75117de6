import CPUKernels
import Tensors

/// Linear layers: activations f32, weights in any supported dtype (dequantized exactly on the fly).
extension CPUBackend {
    public func linear(_ x: Tensor, weight: Tensor, bias: Tensor?) throws -> Tensor {
        try check(weight.shape.count == 2, "linear weight must be 2-D, got \(weight.shape)")
        let m = weight.shape[0], k = weight.shape[1]
        try check(x.lastDim == k, "linear: x \(x.shape) vs weight \(weight.shape)")
        guard let type = weight.dtype.kernelType else { throw BackendError.unsupported("linear weight of \(weight.dtype)") }
        if let bias { try check(bias.count == m, "linear bias \(bias.shape) for \(m) outputs") }
        let out = empty(Array(x.shape.dropLast()) + [m])
        ck_matmul(pool, try f32(x, "linear input"), Int64(x.rows), Int64(k), raw(weight), type, Int64(m),
                  try bias.map { try parameterF32($0, "bias") }, try f32(out, "out"))
        return out
    }
}
