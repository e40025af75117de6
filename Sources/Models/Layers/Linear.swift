import Tensors

/// y = x W^T + b.
public struct Linear: Sendable {
    public let weight: Tensor
    public let bias: Tensor?

    public init(weight: Tensor, bias: Tensor? = nil) {
        self.weight = weight
        self.bias = bias
    }

    public var outFeatures: Int { weight.shape[0] }

    public func callAsFunction(_ x: Tensor, _ backend: any Backend) throws -> Tensor {
        try backend.linear(x, weight: weight, bias: bias)
    }
}

/// Root-mean-square layer norm (Zhang & Sennrich), as every model here uses.
public struct RMSNorm: Sendable {
    public let weight: Tensor
    public let eps: Float

    public init(weight: Tensor, eps: Double) {
        self.weight = weight
        self.eps = Float(eps)
    }

    public func callAsFunction(_ x: Tensor, _ backend: any Backend) throws -> Tensor {
        try backend.rmsNorm(x, weight: weight, eps: eps)
    }

    /// residual += x; returns norm(residual).
    public func callAsFunction(_ x: Tensor, residual: Tensor, _ backend: any Backend) throws -> Tensor {
        try backend.addRMSNorm(x, residual: residual, weight: weight, eps: eps)
    }
}
