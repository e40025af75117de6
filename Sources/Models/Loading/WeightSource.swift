import Tensors

/// Named weight tensors in host memory, under Hugging Face checkpoint names
/// (`model.layers.0.self_attn.q_proj.weight`), whatever file format they came from.
public protocol WeightSource: Sendable {
    /// All tensor names available.
    var tensorNames: [String] { get }
    /// The tensor called `name`; throws `ModelError.missingTensor` when absent.
    func tensor(_ name: String) throws -> HostTensor
    /// Whether `name` is available. A requirement (with a linear-search default) so that calls through
    /// `any WeightSource` reach the sources' dictionary lookups: MoE checkpoints have tens of
    /// thousands of tensors.
    func contains(_ name: String) -> Bool
}

extension WeightSource {
    public func contains(_ name: String) -> Bool { tensorNames.contains(name) }
}
