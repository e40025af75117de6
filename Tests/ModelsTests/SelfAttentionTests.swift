import Foundation
import Testing
import Tensors
import CPUBackend
import Models

/// How `SelfAttention` loads its q/k/v projections: stacked into one matrix (biases too) where the
/// dtypes allow, apart where GGUF mixes quantizations; both give the same attention.
@Suite struct SelfAttentionTests {
    struct MemoryWeights: WeightSource {
        var tensors: [String: HostTensor]
        var tensorNames: [String] { tensors.keys.sorted() }
        func tensor(_ name: String) throws -> HostTensor {
            guard let t = tensors[name] else { throw ModelError.missingTensor(name: name, source: "memory") }
            return t
        }
    }

    static let hidden = 32, heads = 2, kvHeads = 1, headDim = 16
    static let config = ModelConfig(architecture: "Qwen3ForCausalLM", modelType: "qwen3", vocabSize: 8, hiddenSize: hidden,
                                    intermediateSize: 8, numHiddenLayers: 1, numAttentionHeads: heads, numKeyValueHeads: kvHeads,
                                    headDim: headDim, rmsNormEps: 1e-6, ropeTheta: 10000, partialRotaryFactor: 0.5,
                                    maxPositionEmbeddings: 64, tieWordEmbeddings: true, attentionBias: true)

    /// f32 weights with v_proj values k/64 for small integers k, so that a q8_0 copy (scale 1/64) is exact.
    static func weights() -> [String: HostTensor] {
        var seed: UInt64 = 5
        func next() -> Float {
            seed = seed &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int(seed >> 58) - 32) / 64  // -0.5 ..< 0.5 in steps of 1/64
        }
        func f32(_ shape: [Int]) -> HostTensor { .f32((0..<shape.reduce(1, *)).map { _ in next() }, shape: shape) }
        let p = "model.layers.0.self_attn", q = heads * headDim, kv = kvHeads * headDim
        return ["\(p).q_proj.weight": f32([q, hidden]), "\(p).k_proj.weight": f32([kv, hidden]),
                "\(p).v_proj.weight": f32([kv, hidden]), "\(p).o_proj.weight": f32([hidden, q]),
                "\(p).q_proj.bias": f32([q]), "\(p).k_proj.bias": f32([kv]), "\(p).v_proj.bias": f32([kv]),
                "\(p).q_norm.weight": f32([headDim]), "\(p).k_norm.weight": f32([headDim])]
    }

    /// q8_0 blocks of a matrix whose values are multiples of 1/64 in -0.5 ..< 0.5: scale 1/64, exact.
    static func q8_0(_ t: HostTensor) -> HostTensor {
        let values = Array(t.bytes.bindMemory(to: Float.self))
        let out = OwnedBytes(count: DType.q8_0.byteCount(elements: values.count))
        for b in 0..<(values.count / 32) {
            let block = out.pointer + b * 34
            block.storeBytes(of: Float16(1.0 / 64).bitPattern, as: UInt16.self)
            for i in 0..<32 { block.storeBytes(of: Int8(values[b * 32 + i] * 64), toByteOffset: 2 + i, as: Int8.self) }
        }
        return HostTensor(shape: t.shape, dtype: .q8_0, bytes: out.buffer, owner: out)
    }

    func attention(_ tensors: [String: HostTensor], backend: CPUBackend) throws -> (SelfAttention, [Float]) {
        let loader = WeightLoader(source: MemoryWeights(tensors: tensors), backend: backend)
        let attn = try SelfAttention(loader, prefix: "model.layers.0.self_attn", config: Self.config, bias: true, qkNorm: true)
        let n = 3
        var seed: UInt64 = 9
        let x = (0..<(n * Self.hidden)).map { _ -> Float in
            seed = seed &* 6364136223846793005 &+ 1
            return Float(Int(seed >> 56) - 128) / 128
        }
        let rotary = try RotaryEmbedding.table(config: Self.config, maxPositions: 64, backend: backend)
        let cache = try backend.allocateKVCache(numBlocks: 2, blockSize: 4, numKVHeads: Self.kvHeads, headDim: Self.headDim)
        let meta = try AttentionMetadata(blockSize: 4, positions: [0, 1, 2], slotMapping: [0, 1, 2], queryStart: [0, 3],
                                         seqLens: [3], blockTables: [0, 1], maxBlocksPerSeq: 2, backend: backend)
        let out = try attn(backend.upload(.f32(x, shape: [n, Self.hidden])), rotary: rotary, cache: cache, metadata: meta, backend)
        return (attn, try backend.download(out))
    }

    @Test func mixedQuantizationsStayApartAndAgree() throws {
        let backend = CPUBackend(threads: 2)
        let plain = Self.weights()
        var mixed = plain
        mixed["model.layers.0.self_attn.v_proj.weight"] = Self.q8_0(plain["model.layers.0.self_attn.v_proj.weight"]!)
        let (fused, want) = try attention(plain, backend: backend)
        let (apart, got) = try attention(mixed, backend: backend)
        guard case .fused(let proj) = fused.qkvProj else { Issue.record("f32 q/k/v were not stacked"); return }
        #expect(proj.weight.shape == [(Self.heads + 2 * Self.kvHeads) * Self.headDim, Self.hidden])
        let bias = try backend.download(try #require(proj.bias))
        let p = "model.layers.0.self_attn"
        #expect(bias == ["q", "k", "v"].flatMap { Array(plain["\(p).\($0)_proj.bias"]!.bytes.bindMemory(to: Float.self)) })
        guard case .separate = apart.qkvProj else { Issue.record("q8_0 v_proj was stacked with f32 q/k"); return }
        // Same weights (the q8_0 copy is exact): only the summation order of the products may differ.
        #expect(zip(got, want).allSatisfy { abs($0 - $1) <= 1e-5 * max(1, abs($1)) })
    }

    @Test func mixedPlainTypesStackAsF32() throws {
        let backend = CPUBackend(threads: 2)
        var tensors = Self.weights()
        let name = "model.layers.0.self_attn.k_proj.weight"
        tensors[name] = tensors[name]!.convertedToBF16()  // multiples of 1/64 are exact in bf16
        let (attn, _) = try attention(tensors, backend: backend)
        guard case .fused(let proj) = attn.qkvProj else { Issue.record("plain types were not stacked"); return }
        #expect(proj.weight.dtype == .f32)
    }
}
