import CPUBackend
import Engine
import OspreyTestSupport
import Tensors
import Testing

/// The engine's GPU sampling path on CI: a backend that samples "on the device" (with
/// `ReferenceSampler`, replaying decode graphs as the GPU does) must give every request the tokens
/// and logprobs the host sampler gives it: the runner's routing of rows, the logit edits of
/// penalties, bans, bias and allowed ids, and the per-request random draws must all line up.
struct DeviceSamplingTests {
    static let requests: [SamplingParams] = [
        SamplingParams(temperature: 0, maxTokens: 12, ignoreEos: true, logprobs: 3),
        SamplingParams(temperature: 0.8, topP: 0.9, topK: 20, seed: 1, maxTokens: 12, ignoreEos: true,
                       presencePenalty: 0.2, frequencyPenalty: 0.5, repetitionPenalty: 1.3, logprobs: 5),
        SamplingParams(temperature: 1, minP: 0.05, seed: 2, maxTokens: 12, ignoreEos: true, logitBias: [5: 3, 9: -100]),
        SamplingParams(temperature: 0.7, seed: 3, maxTokens: 12, ignoreEos: true, allowedTokenIds: [3, 5, 7, 11, 13, 17]),
        SamplingParams(temperature: 1.2, seed: 4, maxTokens: 12, minTokens: 6, stopTokenIds: [2, 4], logprobs: 0),
        // More logprobs than a device returns: this row stays on the host.
        SamplingParams(temperature: 0.9, seed: 5, maxTokens: 12, ignoreEos: true, logprobs: 25),
    ]

    func run(_ backend: any Backend) throws -> [[SampleResult]] {
        var config = EngineConfig()
        config.maxModelLen = 256
        config.numBlocks = 128
        let engine = try EngineCore(model: Fixtures.loadModel("qwen3-tied", backend: backend), config: config)
        let prompt = try Fixtures.reference("qwen3-tied").prompts[0].ids
        let ids = try Self.requests.enumerated().map { i, params in
            try engine.add(promptTokenIds: Array(prompt.prefix(6 + i)), params: params, badWordsTokenIds: i == 2 ? [[7], [8, 9]] : [])
        }
        var results: [Int: [SampleResult]] = [:]
        while engine.hasUnfinishedRequests {
            for out in try engine.step() { results[out.requestId, default: []].append(out.sample) }
        }
        return ids.map { results[$0] ?? [] }
    }

    @Test func backendSamplingEqualsTheHostSampler() throws {
        let device = ReplayingBackend()
        device.samples = true
        let onDevice = try run(device)
        let onHost = try run(CPUBackend())
        #expect(device.sampleCalls > 0 && device.replays > 0)
        for (i, (d, h)) in zip(onDevice, onHost).enumerated() {
            #expect(d.map(\.token) == h.map(\.token), "request \(i): tokens")
            #expect(d.map(\.rank) == h.map(\.rank), "request \(i): ranks")
            for (a, b) in zip(d, h) {
                #expect(a.logprob.isNaN == b.logprob.isNaN && (a.logprob.isNaN || abs(a.logprob - b.logprob) <= 1e-5),
                        "request \(i): logprob \(a.logprob) vs \(b.logprob)")
                #expect(a.topLogprobs.map(\.id) == b.topLogprobs.map(\.id), "request \(i): top ids")
            }
        }
    }
}
