import Tensors

/// A decoder-only language model on a backend: token ids in, next-token logits out.
public protocol CausalLM: AnyObject, Sendable {
    var config: ModelConfig { get }
    var backend: any Backend { get }
    /// Runs the flattened batch `tokenIds` (i32 [n]) described by `metadata`, writing K/V into
    /// `kvCache` (one entry per layer), and returns logits [m, vocab] for the token rows
    /// `logitsIndices` (i32 [m]).
    func forward(tokenIds: Tensor, metadata: AttentionMetadata, kvCache: [KVCacheLayer],
                 logitsIndices: Tensor) throws -> Tensor
}

extension CausalLM {
    public var numLayers: Int { config.numHiddenLayers }
    public var numKVHeads: Int { config.numKeyValueHeads }
    public var headDim: Int { config.headDim }
}
