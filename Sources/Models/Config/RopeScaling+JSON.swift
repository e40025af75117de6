extension RopeScaling {
    /// Reads `rope_scaling` (transformers 4.x) or `rope_parameters` (5.x); the kind is `rope_type`
    /// (older files: `type`). Kinds we cannot honour are refused rather than silently ignored.
    init(fields: JSONFields, maxPositionEmbeddings: Int) throws {
        let kind = try fields.string("rope_type") ?? fields.string("type") ?? "default"
        func factor() throws -> Double {
            guard let f = try fields.double("factor") else { throw fields.missing("rope_scaling.factor") }
            return f
        }
        switch kind {
        case "default", "none":
            self = .none
        case "linear":
            self = .linear(factor: try factor())
        case "llama3":
            self = .llama3(factor: try factor(),
                           lowFreqFactor: try fields.double("low_freq_factor") ?? 1,
                           highFreqFactor: try fields.double("high_freq_factor") ?? 4,
                           originalMaxPositions: try fields.int("original_max_position_embeddings") ?? 8192)
        case "yarn":
            self = .yarn(factor: try factor(),
                         originalMaxPositions: try fields.int("original_max_position_embeddings") ?? maxPositionEmbeddings,
                         betaFast: try fields.double("beta_fast") ?? 32,
                         betaSlow: try fields.double("beta_slow") ?? 1,
                         mscale: try fields.double("mscale") ?? 1,
                         mscaleAllDim: try fields.double("mscale_all_dim") ?? 0)
        default:
            throw ModelError.invalidConfig(path: fields.path,
                                           reason: "rope type '\(kind)' is not supported (default, linear, llama3, yarn)")
        }
    }
}
