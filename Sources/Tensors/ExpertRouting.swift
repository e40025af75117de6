/// How a mixture-of-experts router turns its logits into the experts each token uses and their
/// weights (`Backend.selectExperts`). One value covers the routers of the models we run:
///
/// - Qwen3-MoE (and Mixtral, Qwen2-MoE): `scoring: .softmax`, one group, `normalize` from
///   `norm_topk_prob`, scale 1.
/// - GLM-4.5 (and DeepSeek-V3): `scoring: .sigmoid` with a per-expert correction bias that only
///   affects the choice, grouped top-k (`n_group`, `topk_group`), `normalize` from `norm_topk_prob`,
///   `scale` = `routed_scaling_factor`.
public struct ExpertRouting: Sendable, Equatable {
    public enum Scoring: String, Sendable {
        /// score = softmax(logits) over all experts.
        case softmax
        /// score = sigmoid(logit), each expert on its own.
        case sigmoid
    }

    /// Experts per token (`num_experts_per_tok`).
    public var topK: Int
    public var scoring: Scoring
    /// Divide the chosen weights by their sum (`norm_topk_prob`).
    public var normalize: Bool
    /// Experts are split into this many equal groups, numbered in expert order (`n_group`).
    public var numGroups: Int
    /// Only experts of the best `topKGroups` groups may be chosen (`topk_group`).
    public var topKGroups: Int
    /// Every weight is multiplied by this at the end (`routed_scaling_factor`).
    public var scale: Float

    public init(topK: Int, scoring: Scoring, normalize: Bool, numGroups: Int = 1, topKGroups: Int = 1, scale: Float = 1) {
        self.topK = topK
        self.scoring = scoring
        self.normalize = normalize
        self.numGroups = numGroups
        self.topKGroups = topKGroups
        self.scale = scale
    }
}
