import Tensors

/// The feed-forward half of a decoder layer: a dense SwiGLU MLP or a mixture of experts.
public enum FeedForward: Sendable {
    case dense(GatedMLP)
    case sparse(SparseMoE)

    public func callAsFunction(_ x: Tensor, _ b: any Backend) throws -> Tensor {
        switch self {
        case .dense(let mlp): try mlp(x, b)
        case .sparse(let moe): try moe(x, b)
        }
    }
}

/// SwiGLU feed-forward: down(silu(gate(x)) * up(x)), with gate and up stacked into one matrix.
public struct GatedMLP: Sendable {
    public let gateUp: Linear
    public let down: Linear

    /// Loads `prefix.{gate,up,down}_proj.weight`.
    public init(_ w: WeightLoader, prefix: String, hidden: Int, intermediate: Int) throws {
        gateUp = Linear(weight: try w.stackedMatrix(
            ["\(prefix).gate_proj.weight", "\(prefix).up_proj.weight"],
            shapes: [[intermediate, hidden], [intermediate, hidden]]))
        down = Linear(weight: try w.matrix("\(prefix).down_proj.weight", shape: [hidden, intermediate]))
    }

    public func callAsFunction(_ x: Tensor, _ b: any Backend) throws -> Tensor {
        try down(b.siluAndMul(gateUp(x, b)), b)
    }
}

/// A mixture-of-experts block: a router (`prefix.gate.weight`, [E, hidden]) scores the experts for
/// each token, the chosen experts' SwiGLU MLPs (`prefix.experts`) are weighted and summed, and an
/// optional shared expert (`prefix.shared_experts`, an ordinary MLP) sees every token.
public struct SparseMoE: Sendable {
    public let router: Tensor
    /// Per-expert bias added to the scores when choosing experts (`prefix.gate.e_score_correction_bias`).
    public let correctionBias: Tensor?
    public let routing: ExpertRouting
    /// [E, 2 * moe_intermediate_size, hidden] and [E, hidden, moe_intermediate_size].
    public let gateUp: Tensor
    public let down: Tensor
    public let shared: GatedMLP?

    /// `sharedExperts` shared experts form one MLP `sharedExperts` times as wide as an expert.
    public init(_ w: WeightLoader, prefix: String, config c: ModelConfig, routing: ExpertRouting,
                correctionBias: Bool = false, sharedExperts: Int = 0) throws {
        let experts = c.numExperts, hidden = c.hiddenSize, inter = c.moeIntermediateSize
        guard experts > 0, inter > 0, routing.topK > 0, routing.topK <= experts else {
            throw ModelError.invalidConfig(path: "config.json", reason: "a mixture-of-experts layer needs num_experts > 0, "
                + "moe_intermediate_size > 0 and 0 < num_experts_per_tok <= num_experts (got \(experts), \(inter), \(routing.topK))")
        }
        router = try w.matrix("\(prefix).gate.weight", shape: [experts, hidden])
        self.correctionBias = correctionBias ? try w.vector("\(prefix).gate.e_score_correction_bias", shape: [experts]) : nil
        self.routing = routing
        (gateUp, down) = try w.experts("\(prefix).experts", count: experts, hidden: hidden, intermediate: inter)
        shared = sharedExperts > 0
            ? try GatedMLP(w, prefix: "\(prefix).shared_experts", hidden: hidden, intermediate: inter * sharedExperts)
            : nil
    }

    public func callAsFunction(_ x: Tensor, _ b: any Backend) throws -> Tensor {
        let logits = try b.linear(x, weight: router, bias: nil)
        let chosen = try b.selectExperts(logits, routing: routing, correctionBias: correctionBias)
        let routed = try b.moe(x, gateUp: gateUp, down: down, expertIds: chosen.ids, expertWeights: chosen.weights)
        guard let shared else { return routed }
        return try b.add(routed, shared(x, b))
    }
}
