import CUDABackend
import Engine
import Tensors

/// The tensor-core grouped expert GEMMs (moe_gate_up_mma, moe_down_mma) against the float kernels
/// on random data at Qwen3-30B-A3B's expert shapes (hidden 2048, 768 an expert, top 8) with 16
/// experts and 300 tokens: 64 and 24 k steps through the 3-stage pipeline, about 150 rows an
/// expert (several tiles, a partial last one). The fixtures reach 1 or 2 k steps only.
extension GPUCheck {
    /// The largest |difference| between the routes' outputs over the largest |output|, or nil
    /// where the tensor-core route is off (see `CUDABackend.moeTensorCores`).
    func checkMoETiles(_ gpu: CUDABackend) throws -> (relative: Float, largest: Float)? {
        guard gpu.moeTensorCores else { return nil }
        let n = 300, hidden = 2048, inter = 768, experts = 16, k = 8
        var rng = SplitMix64(seed: 2026)
        let x = try gpu.uploadMatrix(.f32((0..<n * hidden).map { _ in Float(rng.nextUnit() * 2 - 1) }, shape: [n, hidden]))
        var ids: [Int32] = [], weights: [Float] = []
        for _ in 0..<n {
            var pool = Array(0..<experts)
            pool.shuffle(using: &rng)
            ids += pool.prefix(k).map { Int32($0) }
            weights += (0..<k).map { _ in Float(rng.nextUnit()) }
        }
        let expertIds = try gpu.upload(.i32(ids, shape: [n, k])), expertWeights = try gpu.upload(.f32(weights, shape: [n, k]))
        func matrix(_ name: String, _ shape: [Int]) throws -> Tensor {
            guard let m = try gpu.generateDummyMatrix(shape: shape, parts: [(DummyValues.seed(name: name), shape.reduce(1, *))]) else {
                throw BackendError.failure("no device-made dummy matrix for the MoE check")
            }
            return m
        }
        let gateUp = try matrix("moe.gate_up", [experts, 2 * inter, hidden]), down = try matrix("moe.down", [experts, hidden, inter])
        let mma = try gpu.download(gpu.moe(x, gateUp: gateUp, down: down, expertIds: expertIds, expertWeights: expertWeights, tensorCores: true))
        let float = try gpu.download(gpu.moe(x, gateUp: gateUp, down: down, expertIds: expertIds, expertWeights: expertWeights, tensorCores: false))
        let largest = float.map { abs($0) }.max() ?? 0
        let worst = zip(mma, float).map { $0.isNaN || $1.isNaN ? Float.infinity : abs($0 - $1) }.max() ?? .infinity
        return (largest > 0 ? worst / largest : .infinity, largest)
    }
}
