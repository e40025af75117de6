import Foundation
import Testing
import Tensors
import CPUBackend

/// Mixture-of-experts ops against naive double-precision references written from the contract in
/// Backend.swift: `selectExperts` (softmax / sigmoid, correction bias, grouped top-k, normalization,
/// scaling) and `moe` (every weight dtype, tokens spread over experts or piled on one).
@Suite struct MoETests {
    // MARK: selectExperts

    /// The contract, step by step, in Double.
    static func route(_ logits: [Float], n: Int, experts e: Int, _ r: ExpertRouting, bias: [Float]?) -> (ids: [Int32], weights: [Double]) {
        var ids: [Int32] = [], weights: [Double] = []
        for t in 0..<n {
            let l = logits[t * e ..< (t + 1) * e].map(Double.init)
            let score: [Double]
            if r.scoring == .softmax {
                let m = l.max()!, s = l.map { exp($0 - m) }.reduce(0, +)
                score = l.map { exp($0 - m) / s }
            } else {
                score = l.map { 1 / (1 + exp(-$0)) }
            }
            let choice = score.indices.map { score[$0] + Double(bias?[$0] ?? 0) }
            var eligible = [Bool](repeating: true, count: e)
            if r.numGroups > 1 {
                let per = e / r.numGroups
                let groupScore = (0..<r.numGroups).map { g in choice[g * per ..< (g + 1) * per].sorted(by: >).prefix(2).reduce(0, +) }
                let kept = Set(groupScore.indices.sorted { groupScore[$0] > groupScore[$1] || (groupScore[$0] == groupScore[$1] && $0 < $1) }.prefix(r.topKGroups))
                eligible = (0..<e).map { kept.contains($0 / per) }
            }
            let chosen = (0..<e).filter { eligible[$0] }
                .sorted { choice[$0] > choice[$1] || (choice[$0] == choice[$1] && $0 < $1) }
                .prefix(r.topK)
            var w = chosen.map { score[$0] }
            if r.normalize { let s = w.reduce(0, +) + 1e-20; w = w.map { $0 / s } }
            ids += chosen.map { Int32($0) }
            weights += w.map { $0 * Double(r.scale) }
        }
        return (ids, weights)
    }

    static let routings: [ExpertRouting] = [
        ExpertRouting(topK: 1, scoring: .softmax, normalize: false),
        ExpertRouting(topK: 2, scoring: .softmax, normalize: true),
        ExpertRouting(topK: 8, scoring: .softmax, normalize: false),
        ExpertRouting(topK: 4, scoring: .sigmoid, normalize: true, scale: 2.5),
        ExpertRouting(topK: 3, scoring: .sigmoid, normalize: false, numGroups: 4, topKGroups: 2),
        ExpertRouting(topK: 6, scoring: .sigmoid, normalize: true, numGroups: 8, topKGroups: 3, scale: 1.5),
    ]

    @Test(arguments: routings, [false, true])
    func selectExpertsMatchesReference(routing: ExpertRouting, withBias: Bool) throws {
        let n = 37, e = 16
        var rng = SeededRandom(seed: UInt64(routing.topK * 31 + routing.numGroups))
        let logits = rng.floats(n * e, scale: 4)
        let bias = withBias ? rng.floats(e, scale: 0.5) : nil
        let (ids, weights) = try backend.selectExperts(upload(logits, [n, e]), routing: routing,
                                                       correctionBias: bias.map { try upload($0, [e]) })
        #expect(ids.shape == [n, routing.topK] && ids.dtype == .i32)
        #expect(weights.shape == [n, routing.topK] && weights.dtype == .f32)
        let want = Self.route(logits, n: n, experts: e, routing, bias: bias)
        #expect(try backend.download(ids).map { Int32($0) } == want.ids)
        let got = try backend.download(weights)
        #expect(zip(got, want.weights).allSatisfy { abs(Double($0) - $1) <= 1e-6 * max(1, abs($1)) })
    }

    /// The bias steers the choice but the weights are the unbiased scores.
    @Test func correctionBiasChoosesButDoesNotWeigh() throws {
        // sigmoid(0) = 0.5 for expert 0, sigmoid(1) ≈ 0.731 for expert 1; a bias of 0.5 on expert 0 picks it.
        let logits = try upload([0, 1], [1, 2])
        let r = ExpertRouting(topK: 1, scoring: .sigmoid, normalize: false)
        let plain = try backend.selectExperts(logits, routing: r, correctionBias: nil)
        #expect(try backend.download(plain.ids) == [1])
        let biased = try backend.selectExperts(logits, routing: r, correctionBias: upload([0.5, 0], [2]))
        #expect(try backend.download(biased.ids) == [0])
        #expect(try backend.download(biased.weights) == [0.5])
    }

    @Test func tiesGoToTheLowerExpert() throws {
        let r = ExpertRouting(topK: 2, scoring: .softmax, normalize: true)
        let chosen = try backend.selectExperts(upload([1, 3, 3, 3], [1, 4]), routing: r, correctionBias: nil)
        #expect(try backend.download(chosen.ids) == [1, 2])
        #expect(try backend.download(chosen.weights) == [0.5, 0.5])
    }

    @Test func impossibleRoutingThrows() throws {
        let logits = try upload([Float](repeating: 0, count: 8), [1, 8])
        for r in [ExpertRouting(topK: 9, scoring: .softmax, normalize: false),
                  ExpertRouting(topK: 5, scoring: .sigmoid, normalize: false, numGroups: 4, topKGroups: 2),  // 4 eligible
                  ExpertRouting(topK: 1, scoring: .sigmoid, normalize: false, numGroups: 3, topKGroups: 1),  // 8 % 3
                  ExpertRouting(topK: 1, scoring: .sigmoid, normalize: false, numGroups: 8, topKGroups: 1)]  // 1 per group
        {
            #expect(throws: BackendError.self) { try backend.selectExperts(logits, routing: r, correctionBias: nil) }
        }
    }

    // MARK: moe

    /// Σ_j w · down[e] (silu(gate[e] x) ⊙ up[e] x) over dequantized weights, plus Σ |terms| per output
    /// for the tolerance.
    static func moeReference(x: [Float], n: Int, hidden h: Int, gateUp: [Float], down: [Float], experts: Int, inter: Int,
                             ids: [Int32], weights: [Float], k: Int) -> (out: [Double], scale: [Double]) {
        var out = [Double](repeating: 0, count: n * h), scale = out
        for t in 0..<n {
            for j in 0..<k {
                let e = Int(ids[t * k + j])
                guard e >= 0 && e < experts else { continue }
                let w = Double(weights[t * k + j])
                var act = [Double](repeating: 0, count: inter), actAbs = act
                for i in 0..<inter {
                    var g = 0.0, u = 0.0, ga = 0.0, ua = 0.0
                    for c in 0..<h {
                        let xv = Double(x[t * h + c])
                        let gp = Double(gateUp[(e * 2 * inter + i) * h + c]) * xv
                        let up = Double(gateUp[(e * 2 * inter + inter + i) * h + c]) * xv
                        g += gp; u += up; ga += abs(gp); ua += abs(up)
                    }
                    let silu = g / (1 + exp(-g))
                    act[i] = silu * u
                    actAbs[i] = (abs(silu) + ga) * (abs(u) + ua)  // bounds the rounding of both dot products
                }
                for r in 0..<h {
                    var s = 0.0, a = 0.0
                    for i in 0..<inter {
                        let d = Double(down[(e * h + r) * inter + i])
                        s += d * act[i]
                        a += abs(d) * actAbs[i]
                    }
                    out[t * h + r] += w * s
                    scale[t * h + r] += abs(w) * a
                }
            }
        }
        return (out, scale)
    }

    static let dtypes: [DType] = [.f32, .f16, .bf16, .q8_0, .q4_0, .q4_1, .q4_K, .q6_K]

    // n = 1 (decode), 5, 40 (prefill kernels per expert), and 600 tokens all on one expert (more rows
    // than one gathered chunk).
    @Test(arguments: dtypes, [1, 5, 40, 600])
    func moeMatchesReference(dtype: DType, n: Int) throws {
        var rng = SeededRandom(seed: UInt64(n * 977 + dtype.blockBytes))
        let experts = 6, k = n == 600 ? 1 : 3
        let hidden = dtype.blockSize == 256 ? 256 : 64, inter = dtype.blockSize == 256 ? 256 : 96
        let gateUp = try uploadBytes(randomWeightBytes(dtype, m: experts * 2 * inter, k: hidden, rng: &rng),
                                     shape: [experts, 2 * inter, hidden], dtype: dtype)
        let down = try uploadBytes(randomWeightBytes(dtype, m: experts * hidden, k: inter, rng: &rng),
                                   shape: [experts, hidden, inter], dtype: dtype)
        let x = rng.floats(n * hidden, scale: 0.5)
        var ids: [Int32] = [], weights: [Float] = []
        for t in 0..<n {
            if n == 600 {
                ids.append(t % 50 == 7 ? -1 : 2)  // one expert, with a few empty slots
            } else {
                // Distinct experts per token, plus an out-of-range slot now and then.
                var picked = Array(0..<experts).shuffled(using: &rng).prefix(k).map { Int32($0) }
                if t % 4 == 3 { picked[k - 1] = Int32(experts) }
                ids += picked
            }
            weights += rng.floats(k, scale: 1)
        }
        let out = try backend.moe(upload(x, [n, hidden]), gateUp: gateUp, down: down,
                                  expertIds: backend.upload(.i32(ids, shape: [n, k])), expertWeights: upload(weights, [n, k]))
        #expect(out.shape == [n, hidden])
        let got = try backend.download(out)
        let want = Self.moeReference(x: x, n: n, hidden: hidden, gateUp: try backend.download(gateUp),
                                     down: try backend.download(down), experts: experts, inter: inter,
                                     ids: ids, weights: weights, k: k)
        // Two float32 dot products in a row (k <= 256 terms each), relative to the sum of |terms|: as in
        // LinearTests, 1e-5 leaves a wide margin over the ~1e-6 observed.
        #expect(maxViolation(got, want.out, scale: want.scale, rtol: 1e-5) <= 0, "dtype \(dtype) n \(n)")
    }

    /// Weights of different dtypes for gate/up and down, and a token sent to one expert twice.
    @Test func mixedDtypesAndRepeatedExpert() throws {
        var rng = SeededRandom(seed: 5)
        let experts = 3, hidden = 64, inter = 32, n = 4, k = 2
        let gateUp = try uploadBytes(randomWeightBytes(.q8_0, m: experts * 2 * inter, k: hidden, rng: &rng),
                                     shape: [experts, 2 * inter, hidden], dtype: .q8_0)
        let down = try uploadBytes(randomWeightBytes(.bf16, m: experts * hidden, k: inter, rng: &rng),
                                   shape: [experts, hidden, inter], dtype: .bf16)
        let x = rng.floats(n * hidden)
        let ids: [Int32] = [1, 1, 0, 2, 2, 2, 0, 1], weights = rng.floats(n * k)
        let got = try backend.download(backend.moe(upload(x, [n, hidden]), gateUp: gateUp, down: down,
                                                   expertIds: backend.upload(.i32(ids, shape: [n, k])),
                                                   expertWeights: upload(weights, [n, k])))
        let want = Self.moeReference(x: x, n: n, hidden: hidden, gateUp: try backend.download(gateUp),
                                     down: try backend.download(down), experts: experts, inter: inter,
                                     ids: ids, weights: weights, k: k)
        #expect(maxViolation(got, want.out, scale: want.scale, rtol: 1e-5) <= 0)
    }

    /// Grouping by expert must not make a token's result depend on the other tokens of the batch
    /// beyond float rounding: a token alone and in a batch agree.
    @Test func tokenAloneMatchesTokenInBatch() throws {
        var rng = SeededRandom(seed: 11)
        let experts = 8, hidden = 64, inter = 64, n = 9, k = 2
        let gateUp = try uploadBytes(randomWeightBytes(.bf16, m: experts * 2 * inter, k: hidden, rng: &rng),
                                     shape: [experts, 2 * inter, hidden], dtype: .bf16)
        let down = try uploadBytes(randomWeightBytes(.bf16, m: experts * hidden, k: inter, rng: &rng),
                                   shape: [experts, hidden, inter], dtype: .bf16)
        let x = rng.floats(n * hidden)
        let ids = (0..<n * k).map { Int32(($0 * 5) % experts) }, weights = rng.floats(n * k)
        let batch = try backend.download(backend.moe(upload(x, [n, hidden]), gateUp: gateUp, down: down,
                                                     expertIds: backend.upload(.i32(ids, shape: [n, k])),
                                                     expertWeights: upload(weights, [n, k])))
        let t = 4
        let alone = try backend.download(backend.moe(upload(Array(x[t * hidden ..< (t + 1) * hidden]), [1, hidden]),
                                                     gateUp: gateUp, down: down,
                                                     expertIds: backend.upload(.i32(Array(ids[t * k ..< (t + 1) * k]), shape: [1, k])),
                                                     expertWeights: upload(Array(weights[t * k ..< (t + 1) * k]), [1, k])))
        let row = Array(batch[t * hidden ..< (t + 1) * hidden])
        #expect(zip(row, alone).allSatisfy { abs($0 - $1) <= 1e-5 * max(1, abs($1)) })
    }

    @Test func mismatchedShapesThrow() throws {
        let gateUp = try upload([Float](repeating: 0, count: 2 * 8 * 16), [2, 8, 16])
        let down = try upload([Float](repeating: 0, count: 2 * 16 * 4), [2, 16, 4])
        let x = try upload([Float](repeating: 0, count: 16), [1, 16])
        let ids = try backend.upload(.i32([0], shape: [1, 1])), w = try upload([1], [1, 1])
        #expect(try backend.download(backend.moe(x, gateUp: gateUp, down: down, expertIds: ids, expertWeights: w)).allSatisfy { $0 == 0 })
        #expect(throws: BackendError.self) {
            try backend.moe(upload([Float](repeating: 0, count: 12), [1, 12]), gateUp: gateUp, down: down, expertIds: ids, expertWeights: w)
        }
        #expect(throws: BackendError.self) {
            try backend.moe(x, gateUp: gateUp, down: upload([Float](repeating: 0, count: 2 * 16 * 5), [2, 16, 5]), expertIds: ids, expertWeights: w)
        }
        #expect(throws: BackendError.self) {
            try backend.moe(x, gateUp: gateUp, down: down, expertIds: ids, expertWeights: upload([1, 1], [1, 2]))
        }
    }
}

extension ExpertRouting: CustomTestStringConvertible {
    public var testDescription: String {
        "\(scoring) top-\(topK)\(normalize ? " normalized" : "")\(numGroups > 1 ? " groups \(topKGroups)/\(numGroups)" : "")"
            + (scale != 1 ? " ×\(scale)" : "")
    }
}
