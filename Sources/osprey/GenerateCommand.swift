import ArgumentParser
import Engine
import Foundation

/// `osprey generate`: one prompt in, its continuation streamed to stdout.
struct Generate: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Generate a continuation of a prompt.")

    @OptionGroup var model: ModelOptions
    @Option(help: "The prompt text.") var prompt: String
    @Flag(help: "Wrap the prompt as a user message in the model's chat template.") var chat = false
    @Option(help: "A system message (with --chat).") var system: String?
    @Option(help: "Tokens to generate at most.") var maxTokens = 128
    @Option(help: "Sampling temperature; 0 is greedy.") var temperature = 0.0
    @Option(help: "Nucleus sampling mass.") var topP = 1.0
    @Option(help: "Top-k sampling (-1: off).") var topK = -1
    @Option(help: "Min-p sampling.") var minP = 0.0
    @Option(help: "Random seed.") var seed: UInt64?
    @Flag(help: "Keep generating past end-of-sequence tokens.") var ignoreEos = false

    func run() throws {
        let loaded = try model.load()
        var text = prompt
        if chat {
            var messages: [[String: String]] = []
            if let system { messages.append(["role": "system", "content": system]) }
            messages.append(["role": "user", "content": prompt])
            text = try loaded.applyChatTemplate(messages: messages, addGenerationPrompt: true)
        }
        let ids = loaded.encode(text, addSpecialTokens: !chat)
        let engine = try loaded.engine(maxNumSeqs: 1)
        let params = SamplingParams(temperature: temperature, topP: topP, topK: topK, minP: minP, seed: seed,
                                    maxTokens: maxTokens, ignoreEos: ignoreEos)
        try engine.add(promptTokenIds: ids, params: params)
        var detokenizer = loaded.makeDetokenizer(promptIds: ids)
        while engine.hasUnfinishedRequests {
            for out in try engine.step() {
                for id in out.newTokenIds { FileHandle.standardOutput.write(Data(detokenizer.append(id).utf8)) }
            }
        }
        print(detokenizer.flush())
    }
}
