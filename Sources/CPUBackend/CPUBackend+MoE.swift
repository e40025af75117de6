import CPUKernels
import Tensors

/// Mixture-of-experts routing and expert MLPs (`ck_moe_route`, `ck_moe`).
extension CPUBackend {
    public func selectExperts(_ logits: Tensor, routing r: ExpertRouting, correctionBias: Tensor?) throws -> (ids: Tensor, weights: Tensor) {
        let n = logits.rows, experts = logits.lastDim, k = r.topK
        if let correctionBias {
            try check(correctionBias.count == experts, "selectExperts: correction bias \(correctionBias.shape) for \(experts) experts")
        }
        let ids = empty([n, k], dtype: .i32), weights = empty([n, k])
        let ok = ck_moe_route(pool, try f32(logits, "router logits"), try correctionBias.map { try parameterF32($0, "correction bias") },
                              Int64(n), Int64(experts), Int64(k), r.scoring == .softmax ? Int32(CK_MOE_SOFTMAX) : Int32(CK_MOE_SIGMOID),
                              r.normalize ? 1 : 0, Int64(r.numGroups), Int64(r.topKGroups), r.scale,
                              raw(ids).assumingMemoryBound(to: Int32.self), try f32(weights, "weights"))
        try check(ok != 0, "selectExperts: top-\(k) of \(experts) experts in \(r.numGroups) groups keeping \(r.topKGroups) is impossible")
        return (ids, weights)
    }

    public func moe(_ x: Tensor, gateUp: Tensor, down: Tensor, expertIds: Tensor, expertWeights: Tensor) throws -> Tensor {
        try check(gateUp.shape.count == 3 && down.shape.count == 3, "moe: gateUp \(gateUp.shape) and down \(down.shape) must be 3-D")
        let experts = gateUp.shape[0], inter = gateUp.shape[1] / 2, hidden = x.lastDim, n = x.rows
        try check(gateUp.shape == [experts, 2 * inter, hidden], "moe: gateUp \(gateUp.shape) for x \(x.shape)")
        try check(down.shape == [experts, hidden, inter], "moe: down \(down.shape) vs gateUp \(gateUp.shape)")
        try check(expertIds.rows == n && expertWeights.shape == expertIds.shape,
                  "moe: ids \(expertIds.shape), weights \(expertWeights.shape) for \(n) tokens")
        guard let upType = gateUp.dtype.kernelType, let downType = down.dtype.kernelType else {
            throw BackendError.unsupported("moe weights of \(gateUp.dtype) / \(down.dtype)")
        }
        try check(hidden % gateUp.dtype.blockSize == 0 && inter % down.dtype.blockSize == 0,
                  "moe: rows of \(hidden) (\(gateUp.dtype)) / \(inter) (\(down.dtype)) are not whole blocks")
        let out = empty([n, hidden])
        ck_moe(pool, try f32(x, "moe input"), Int64(n), Int64(hidden), raw(gateUp), upType, raw(down), downType,
               Int64(experts), Int64(inter), try i32(expertIds, "expert ids"), try f32(expertWeights, "expert weights"),
               Int64(expertIds.lastDim), try f32(out, "out"))
        return out
    }
}
