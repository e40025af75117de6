import Models
import Tensors
import Testing

@Suite struct DummyWeightsTests {
    let shapes: [String: [Int]] = [
        "model.embed_tokens.weight": [64, 16],
        "model.layers.0.input_layernorm.weight": [16],
        "model.layers.0.self_attn.q_norm.weight": [8],
        "model.norm.weight": [16],
        "model.layers.0.self_attn.q_proj.bias": [16],
        "model.layers.0.self_attn.q_proj.weight": [16, 16],
    ]

    @Test(arguments: [DType.f32, .f16, .bf16])
    func valuesByKind(dtype: DType) throws {
        let w = DummyWeights(shapes: shapes, dtype: dtype, seed: 7)
        #expect(w.tensorNames.count == shapes.count)
        for name in w.tensorNames {
            let t = try w.tensor(name)
            #expect(t.shape == shapes[name]!)
            #expect(t.dtype == dtype)
            let v = t.floats
            if name.hasSuffix("norm.weight") {
                #expect(v.allSatisfy { $0 == 1 }, "\(name)")
            } else if name.hasSuffix(".bias") {
                #expect(v.allSatisfy { $0 == 0 }, "\(name)")
            } else {
                #expect(v.allSatisfy { abs($0) <= 0.0201 }, "\(name)")
                let mean = v.reduce(0, +) / Float(v.count)
                let spread = v.map { $0 * $0 }.reduce(0, +) / Float(v.count)
                #expect(abs(mean) < 0.003)
                #expect(spread > 0.0001, "values are spread, not constant")   // uniform ±0.02: E[x²] ≈ 1.3e-4
                #expect(Set(v).count > v.count / 2)
            }
        }
    }

    @Test func deterministicPerNameAndSeed() throws {
        let name = "model.layers.0.self_attn.q_proj.weight"
        let a = try DummyWeights(shapes: shapes, dtype: .f32, seed: 1).tensor(name).floats
        let b = try DummyWeights(shapes: shapes, dtype: .f32, seed: 1).tensor(name).floats
        let c = try DummyWeights(shapes: shapes, dtype: .f32, seed: 2).tensor(name).floats
        let other = try DummyWeights(shapes: shapes, dtype: .f32, seed: 1).tensor("model.embed_tokens.weight").floats
        #expect(a == b)
        #expect(a != c)
        #expect(Array(other.prefix(a.count)) != a)
        // bf16 and f16 are the f32 values rounded.
        let half = try DummyWeights(shapes: shapes, dtype: .f16, seed: 1).tensor(name).floats
        #expect(zip(a, half).allSatisfy { abs($0 - $1) < 2e-5 })
        let brain = try DummyWeights(shapes: shapes, dtype: .bf16, seed: 1).tensor(name).floats
        #expect(zip(a, brain).allSatisfy { abs($0 - $1) <= abs($0) / 128 })
    }

    /// The values are a fixed function of seed, name and index (`DummyValues`, which the CUDA
    /// backend's `dummy_fill_bf16` computes on the device): pinned here from an independent
    /// reimplementation (Python, of splitmix64 and FNV-1a), across a chunk boundary and a ragged end.
    @Test func valuesArePinned() throws {
        let a = try DummyWeights(shapes: ["big.weight": [300, 1000]], dtype: .f32, seed: 3).tensor("big.weight").floats
        let pinned: [(Int, UInt32)] = [(0, 0xbc4b_a8f5), (1, 0xbc97_d5c2), (2, 0xbc71_5c29), (3, 0xba96_cccd),
                                       (65535, 0x3c67_eb85), (65536, 0xbc6e_7333), (299_999, 0x3c72_4a3d)]
        for (i, bits) in pinned { #expect(a[i].bitPattern == bits, "element \(i)") }
        let seed = DummyValues.seed(name: "big.weight", base: 3)
        for i in [0, 1, 2, 3, 4, 65535, 65536, 131_071, 299_997, 299_998, 299_999] {
            #expect(DummyValues.value(seed: seed, index: i) == a[i], "element \(i)")
        }
        let ragged = try DummyWeights(shapes: ["r.weight": [7, 9363]], dtype: .bf16, seed: 5).tensor("r.weight").floats
        let rseed = DummyValues.seed(name: "r.weight", base: 5)
        #expect(ragged.indices.allSatisfy { ragged[$0] == Float(bitPattern: UInt32(HostTensor.bf16Bits(DummyValues.value(seed: rseed, index: $0))) << 16) })
    }

    /// Large tensors fill in parallel chunks; the values stay the same from run to run and chunks differ.
    @Test func largeTensorsAreDeterministic() throws {
        let shapes = ["big.weight": [300, 1000]]
        let a = try DummyWeights(shapes: shapes, dtype: .bf16, seed: 3).tensor("big.weight").floats
        let b = try DummyWeights(shapes: shapes, dtype: .bf16, seed: 3).tensor("big.weight").floats
        #expect(a == b)
        #expect(a.allSatisfy { abs($0) <= 0.0201 })
        #expect(Array(a[0 ..< 1000]) != Array(a[65536 ..< 66536]), "chunks are seeded apart")
        let mean = a.reduce(0, +) / Float(a.count)
        #expect(abs(mean) < 0.0005)
    }

    @Test func missingAndQuantized() {
        let w = DummyWeights(shapes: shapes, dtype: .q4_0, seed: 0)
        #expect(modelError { _ = try w.tensor("nope") } == .missingTensor(name: "nope", source: "dummy weights"))
        guard case .unsupportedDType = modelError({ _ = try w.tensor("model.norm.weight") }) else {
            Issue.record("quantized dummy weights should be refused")
            return
        }
    }
}
