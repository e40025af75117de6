import Tensors

/// Architectures by the name in `config.json`'s `architectures` list.
public enum ModelRegistry {
    typealias Loader = @Sendable (ModelConfig, WeightLoader, Int) throws -> any CausalLM

    static let architectures: [String: Loader] = [
        "LlamaForCausalLM": { try Llama.load($0, $1, maxPositions: $2) },
        "MistralForCausalLM": { try Llama.load($0, $1, maxPositions: $2) },
        "Qwen2ForCausalLM": { try Qwen2.load($0, $1, maxPositions: $2) },
        "Qwen3ForCausalLM": { try Qwen3.load($0, $1, maxPositions: $2) },
        "Qwen3MoeForCausalLM": { try Qwen3Moe.load($0, $1, maxPositions: $2) },
        "Glm4MoeForCausalLM": { try Glm4Moe.load($0, $1, maxPositions: $2) },
    ]

    public static var supportedArchitectures: [String] { architectures.keys.sorted() }

    /// Builds the model named by `config.architecture` from `weights` on its backend. `maxPositions`
    /// bounds the rotary tables (the serving context length).
    public static func load(config: ModelConfig, weights: WeightLoader, maxPositions: Int) throws -> any CausalLM {
        guard let loader = architectures[config.architecture] else {
            throw ModelError.unsupportedArchitecture(config.architecture, supported: supportedArchitectures)
        }
        return try loader(config, weights, maxPositions)
    }
}
