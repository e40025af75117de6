import ArgumentParser
import Engine
import Foundation

/// `osprey generate`: prompts in, completions out (streamed for one plain prompt, or as vLLM-shaped
/// JSON lines with `--json`).
struct Generate: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Generate continuations of prompts.")

    @OptionGroup var model: ModelOptions
    @OptionGroup var sampling: SamplingOptions
    @OptionGroup var engineOptions: EngineOptions
    @Option(help: "A prompt (repeatable).") var prompt: [String] = []
    @Option(help: "A file with one prompt per line.") var promptFile: String?
    @Flag(help: "Treat each prompt as a user message and apply the model's chat template.") var chat = false
    @Option(help: "A system message (with --chat).") var system: String?
    @Option(help: "JSON object of chat template variables, e.g. '{\"enable_thinking\": false}'.") var chatTemplateKwargs: String?
    @Flag(help: "Print one JSON RequestOutput per prompt per line.") var json = false

    func run() throws {
        var prompts = prompt
        if let promptFile {
            prompts += try String(contentsOfFile: promptFile, encoding: .utf8).split(separator: "\n").map(String.init)
        }
        guard !prompts.isEmpty else { throw ValidationError("give --prompt or --prompt-file") }
        let loaded = try model.load()
        let kwargs = try chatTemplateKwargs.map { try Tokenize.json(Data($0.utf8), "--chat-template-kwargs") as? [String: Any] ?? [:] } ?? [:]
        let inputs: [PromptInput] = try prompts.map { text in
            guard chat else { return .text(text) }
            var messages: [[String: String]] = []
            if let system { messages.append(["role": "system", "content": system]) }
            messages.append(["role": "user", "content": text])
            let rendered = try loaded.applyChatTemplate(messages: messages, addGenerationPrompt: true, kwargs: kwargs)
            return .tokens(loaded.encode(rendered, addSpecialTokens: false))
        }
        var config = EngineConfig()
        engineOptions.apply(to: &config)
        let engine = try LLMEngine(loaded: loaded, config: config)
        let stream = !json && inputs.count == 1 && sampling.n == 1
        for (i, input) in inputs.enumerated() {
            try engine.addRequest("\(i)", prompt: input, params: sampling.params, outputKind: stream ? .delta : .finalOnly)
        }
        var finals: [String: RequestOutput] = [:]
        while engine.hasUnfinishedRequests {
            for output in try engine.step() {
                if stream { FileHandle.standardOutput.write(Data(output.outputs[0].text.utf8)) }
                if output.finished { finals[output.requestId] = output }
            }
        }
        if stream { print(); return }
        for i in inputs.indices {
            guard let output = finals["\(i)"] else { continue }
            if json {
                print(try output.jsonLine(prompt: chat ? prompts[i] : nil))
            } else {
                for completion in output.outputs {
                    print(completion.text)
                    if output.outputs.count > 1 || inputs.count > 1 { print("---") }
                }
            }
        }
    }
}

extension RequestOutput {
    /// vLLM's `RequestOutput` as one line of JSON.
    func jsonLine(prompt override: String?) throws -> String {
        func positions(_ list: [[Logprob]]) -> [Any] {
            list.map { entries in
                Dictionary(entries.map { ("\($0.tokenId)", ["logprob": Double($0.logprob), "rank": $0.rank,
                                                            "decoded_token": $0.decodedToken] as [String: Any]) },
                           uniquingKeysWith: { a, _ in a })
            }
        }
        let object: [String: Any] = [
            "request_id": requestId,
            "prompt": (override ?? prompt) as Any? ?? NSNull(),
            "prompt_token_ids": promptTokenIds,
            "prompt_logprobs": promptLogprobs.map { list in list.map { $0.map { positions([$0])[0] } ?? NSNull() } } ?? NSNull(),
            "outputs": outputs.map { c -> [String: Any] in
                [
                    "index": c.index, "text": c.text, "token_ids": c.tokenIds,
                    "cumulative_logprob": c.cumulativeLogprob ?? NSNull(),
                    "logprobs": c.logprobs.map(positions) ?? NSNull(),
                    "finish_reason": c.finishReason?.rawValue ?? NSNull(),
                    "stop_reason": c.stopReason.map { r -> Any in
                        switch r { case .string(let s): s; case .tokenId(let t): t }
                    } ?? NSNull(),
                ]
            },
            "finished": finished,
        ]
        return String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]), as: UTF8.self)
    }
}
