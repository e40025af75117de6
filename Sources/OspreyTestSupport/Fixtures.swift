import CPUBackend
import Foundation
import Models
import Tensors

/// Shared by the test targets: fixture checkpoints, references, and a one-sequence forward pass.
public func logSoftmax(_ x: [Float]) -> [Float] {
    let m = x.max()!
    let lse = m + log(x.reduce(Float(0)) { $0 + exp($1 - m) })
    return x.map { $0 - lse }
}

/// The committed fixture checkpoints and their references (see Fixtures/README.md).
public enum Fixtures {
    /// `OSPREY_FIXTURES` when set (a binary run away from its build tree, as on the GPU machine),
    /// else the folder in this checkout.
    public static let directory = ProcessInfo.processInfo.environment["OSPREY_FIXTURES"].map { URL(fileURLWithPath: $0) }
        ?? URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Tests/ModelsTests/Fixtures")

    public static var modelNames: [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.filter { FileManager.default.fileExists(atPath: directory.appendingPathComponent("\($0)/reference.json").path) }.sorted()
    }

    public struct Prompt: Decodable {
        public let text: String?
        public let ids: [Int]
        public let greedy: [Int]
        let logprobsOffset: Int
        let numPositions: Int
        /// Log-softmax rows [numPositions][vocab], filled from `logprobs.f32`.
        public internal(set) var logprobs: [[Float]] = []

        enum CodingKeys: String, CodingKey {
            case text, ids, greedy
            case logprobsOffset = "logprobs_offset"
            case numPositions = "num_positions"
        }
    }

    public struct Reference: Decodable {
        public internal(set) var prompts: [Prompt]
        public let vocabSize: Int
        let logprobsFile: String

        enum CodingKeys: String, CodingKey {
            case prompts
            case vocabSize = "vocab_size"
            case logprobsFile = "logprobs_file"
        }
    }

    public static func reference(_ name: String) throws -> Reference {
        let folder = directory.appendingPathComponent(name)
        var reference = try JSONDecoder().decode(Reference.self, from: Data(contentsOf: folder.appendingPathComponent("reference.json")))
        let raw = try Data(contentsOf: folder.appendingPathComponent(reference.logprobsFile))
        let floats = raw.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        let vocab = reference.vocabSize
        for i in reference.prompts.indices {
            let p = reference.prompts[i]
            reference.prompts[i].logprobs = (0..<p.numPositions).map { row in
                let start = p.logprobsOffset + row * vocab
                return Array(floats[start ..< start + vocab])
            }
        }
        return reference
    }

    public static func loadModel(_ name: String, backend: any Backend) throws -> any CausalLM {
        try loadModel(path: directory.appendingPathComponent(name).path, backend: backend)
    }

    public static func loadModel(path: String, backend: any Backend) throws -> any CausalLM {
        let files = try ModelFiles.load(path: path)
        return try ModelRegistry.load(config: files.config, weights: WeightLoader(source: files.weights!, backend: backend),
                                      maxPositions: 512)
    }

    /// Logits [ids.count, vocab] of one sequence prefilled at once into a fresh paged cache (of
    /// `kvCacheDType`, default the activation dtype).
    public static func prefillLogits(_ model: any CausalLM, ids: [Int], blockSize: Int = 16, kvCacheDType: DType? = nil) throws -> [Float] {
        let b = model.backend
        let n = ids.count, numBlocks = (n + blockSize - 1) / blockSize
        // Blocks in reverse order, so a kernel that ignored the block table would fail.
        let table = (0..<numBlocks).map { Int32(numBlocks - 1 - $0) }
        let metadata = try AttentionMetadata(
            blockSize: blockSize, positions: (0..<n).map { Int32($0) },
            slotMapping: (0..<n).map { table[$0 / blockSize] * Int32(blockSize) + Int32($0 % blockSize) },
            queryStart: [0, Int32(n)], seqLens: [Int32(n)], blockTables: table, maxBlocksPerSeq: numBlocks, backend: b)
        let cache = try (0..<model.numLayers).map { _ in
            try b.allocateKVCache(numBlocks: numBlocks, blockSize: blockSize, numKVHeads: model.numKVHeads, headDim: model.headDim,
                                  dtype: kvCacheDType ?? b.activationDType)
        }
        let logits = try model.forward(tokenIds: b.upload(.i32(ids.map { Int32($0) }, shape: [n])), metadata: metadata,
                                       kvCache: cache, logitsIndices: b.upload(.i32((0..<n).map { Int32($0) }, shape: [n])))
        return try b.download(logits)
    }
}
