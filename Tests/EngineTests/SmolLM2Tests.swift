import CPUBackend
import Engine
import Foundation
import OspreyTestSupport
import Testing

/// The built-in default model end to end: its GGUF chat template and tokenizer build the prompt
/// transformers builds, and greedy decoding on the Q4_1 blocks continues it exactly as transformers
/// does on the dequantized weights (Fixtures/smollm2-reference.json).
struct SmolLM2Tests {
    struct Reference: Decodable {
        struct Prompt: Decodable {
            let text: String
            let ids: [Int]
            let greedy: [Int]
            let greedyText: String
            let lastPositionTopIds: [Int]
            let lastPositionTopLogprobs: [Float]
            enum CodingKeys: String, CodingKey {
                case text, ids, greedy
                case greedyText = "greedy_text"
                case lastPositionTopIds = "last_position_top_ids"
                case lastPositionTopLogprobs = "last_position_top_logprobs"
            }
        }
        let prompts: [Prompt]
    }

    static func modelPath() throws -> String {
        let env = ProcessInfo.processInfo.environment
        let path = env["OSPREY_DEFAULT_MODEL"]
            ?? (NSHomeDirectory() as NSString).appendingPathComponent(".cache/osprey/SmolLM2-135M-Instruct.Q4_1.gguf")
        guard FileManager.default.fileExists(atPath: path) else {
            throw EngineError.invalidParameter("SmolLM2 GGUF not found at \(path); run scripts/fetch-default-model.sh")
        }
        return path
    }

    @Test func greedyChatContinuationMatchesTransformers() throws {
        let data = try Data(contentsOf: Fixtures.directory.appendingPathComponent("smollm2-reference.json"))
        let reference = try JSONDecoder().decode(Reference.self, from: data)
        let raw = try JSONSerialization.jsonObject(with: data) as! [String: Any]
        let rawPrompts = raw["prompts"] as! [[String: Any]]
        let loaded = try LoadedModel.load(path: try Self.modelPath(), backend: CPUBackend(), maxModelLen: 1024)
        let engine = try loaded.engine(maxNumSeqs: 4)
        for (prompt, rawPrompt) in zip(reference.prompts, rawPrompts) {
            let text = try loaded.applyChatTemplate(messages: rawPrompt["messages"]!, addGenerationPrompt: true)
            #expect(text == prompt.text)
            #expect(loaded.encode(text, addSpecialTokens: false) == prompt.ids)
            let params = SamplingParams(temperature: 0, maxTokens: 32, ignoreEos: true, logprobs: 20)
            let id = try engine.add(promptTokenIds: prompt.ids, params: params)
            var tokens: [Int] = []
            var firstTop: [Int: Float] = [:]
            while engine.hasUnfinishedRequests {
                for out in try engine.step() where out.requestId == id {
                    if tokens.isEmpty {
                        for alt in out.sample.topLogprobs { firstTop[Int(alt.id)] = alt.logprob }
                    }
                    tokens += out.newTokenIds
                }
            }
            #expect(tokens == prompt.greedy)
            #expect(loaded.tokenizer.decode(tokens) == prompt.greedyText)
            // Exact dequantized arithmetic on both sides: log-probs agree far better than the
            // 1e-2 a Q8-activation kernel would; 2e-3 leaves room for 30 layers of f32 rounding.
            for (id, expected) in zip(prompt.lastPositionTopIds, prompt.lastPositionTopLogprobs) {
                let ours = try #require(firstTop[id], "token \(id) missing from our top 20")
                #expect(abs(ours - expected) < 2e-3, "token \(id): \(ours) vs \(expected)")
            }
        }
    }
}
