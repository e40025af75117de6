import Tensors

/// A `WeightSource` serving a GGUF file's tensors under Hugging Face names and layouts.
///
/// llama.cpp's converter permutes the rows of q_proj and k_proj for the `llama` architecture so that
/// the two halves of each rotary pair sit next to each other (GPT-J style): within each head, HF row
/// `i * headDim/2 + j` (half i, pair j) is stored at row `2 * j + i`. Here that is undone, giving the
/// rotate-half (NeoX) layout HF checkpoints use; whole rows move, so it works for quantized blocks too.
/// Qwen2/Qwen3 GGUFs are stored unpermuted.
public final class GGUFWeights: WeightSource, @unchecked Sendable {
    public let file: GGUFFile
    public let tensorNames: [String]
    private let sources: [String: GGUFTensorNames.Source]

    /// Checks that every tensor with a Hugging Face counterpart has a dtype Osprey computes with.
    public init(file: GGUFFile) throws {
        self.file = file
        var permuted: (q: Int, kv: Int)?
        if file.architecture == "llama" {
            let arch = "llama"
            guard let heads = file.metadata["\(arch).attention.head_count"]?.int else {
                throw ModelError.invalidConfig(path: file.path, reason: "missing metadata 'llama.attention.head_count'")
            }
            permuted = (heads, file.metadata["\(arch).attention.head_count_kv"]?.int ?? heads)
        }
        sources = GGUFTensorNames.map(file, permutedHeads: permuted)
        tensorNames = sources.keys.sorted()
        for (name, source) in sources where name.hasPrefix("model.") || name.hasPrefix("lm_head.") {
            let info = file.info(source.ggufName)!
            guard info.type.dtype != nil else {
                throw ModelError.unsupportedDType(file: file.shardPaths[info.shard], tensor: info.name, dtype: info.type.description)
            }
        }
    }

    public func contains(_ name: String) -> Bool { sources[name] != nil }

    public func tensor(_ name: String) throws -> HostTensor {
        guard let source = sources[name] else { throw ModelError.missingTensor(name: name, source: file.path) }
        switch source {
        case .direct(let gguf):
            return try file.tensor(gguf)
        case .unpermuted(let gguf, let heads):
            return try Self.unpermuteRows(file.tensor(gguf), heads: heads, name: gguf, path: file.path)
        case .expert(let gguf, let index):
            let stacked = try file.tensor(gguf)
            let shape = Array(stacked.shape.dropFirst())
            let bytes = stacked.dtype.byteCount(elements: shape.reduce(1, *))
            return HostTensor(shape: shape, dtype: stacked.dtype,
                              bytes: UnsafeRawBufferPointer(rebasing: stacked.bytes[index * bytes ..< (index + 1) * bytes]),
                              owner: stacked.owner)
        }
    }

    /// Undoes llama.cpp's q/k row permutation: per head, stored row `2j + i` becomes row `i * half + j`.
    static func unpermuteRows(_ t: HostTensor, heads: Int, name: String, path: String) throws -> HostTensor {
        let rows = t.shape.first ?? 0
        guard heads > 0, rows % (2 * heads) == 0 else {
            throw ModelError.corruptFile(path: path, reason: "tensor '\(name)' has \(rows) rows, not a whole number of \(heads) rotary heads")
        }
        let rowBytes = t.bytes.count / max(rows, 1)
        let headDim = rows / heads
        let half = headDim / 2
        let out = OwnedBytes(count: t.bytes.count)
        let src = t.bytes.baseAddress!
        for h in 0 ..< heads {
            for i in 0 ..< 2 {
                for j in 0 ..< half {
                    let from = h * headDim + 2 * j + i
                    let to = h * headDim + i * half + j
                    (out.pointer + to * rowBytes).copyMemory(from: src + from * rowBytes, byteCount: rowBytes)
                }
            }
        }
        return HostTensor(shape: t.shape, dtype: t.dtype, bytes: out.buffer, owner: out)
    }
}

extension GGUFTensorNames.Source {
    var ggufName: String {
        switch self {
        case .direct(let n), .unpermuted(let n, _), .expert(let n, _): n
        }
    }
}
