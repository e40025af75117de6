import ArgumentParser
import Engine
import Foundation
import Server

/// `osprey chat`: an interactive conversation in the terminal, streamed token by token, with the
/// model's thinking shown apart from its answer. `/reset` clears the history, `/exit` leaves.
struct Chat: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Chat with a model in the terminal.")

    @OptionGroup var model: ModelOptions
    @OptionGroup var sampling: SamplingOptions
    @Option(help: "A system message.") var system: String?
    @Option(help: "Reasoning parser for thinking models (deepseek_r1, qwen3, glm45); default: qwen3 when the chat template mentions <think>.")
    var reasoningParser: String?
    @Option(help: "JSON object of chat template variables, e.g. '{\"enable_thinking\": false}'.") var chatTemplateKwargs: String?

    func run() throws {
        let loaded = try model.load()
        let engine = try LLMEngine(loaded: loaded)
        let kwargs = try chatTemplateKwargs.map { try Tokenize.json(Data($0.utf8), "--chat-template-kwargs") as? [String: Any] ?? [:] } ?? [:]
        let thinkingTemplate = loaded.formatter.chatTemplate?.source.contains("<think>") ?? false
        let parserName = reasoningParser ?? (thinkingTemplate ? "qwen3" : nil)
        let thinkingDisabled = (kwargs["enable_thinking"] as? Bool) == false
        let dim = isatty(STDOUT_FILENO) != 0 ? ("\u{1B}[2m", "\u{1B}[0m") : ("", "")
        var params = sampling.params
        if sampling.maxTokens == nil { params.maxTokens = SamplingParams.unlimitedTokens }
        var history: [[String: String]] = system.map { [["role": "system", "content": $0]] } ?? []
        print("Chatting with \(loaded.description). /reset clears the history, /exit leaves.")
        var turn = 0
        while true {
            print("> ", terminator: "")
            fflush(nil)
            guard let line = readLine() else { break }
            let input = line.trimmingCharacters(in: .whitespaces)
            if input.isEmpty { continue }
            if input == "/exit" || input == "/quit" { break }
            if input == "/reset" {
                history = system.map { [["role": "system", "content": $0]] } ?? []
                print("(history cleared)")
                continue
            }
            history.append(["role": "user", "content": input])
            let prompt = try loaded.applyChatTemplate(messages: history, addGenerationPrompt: true, kwargs: kwargs)
            let opensThinking = prompt.hasSuffix("<think>\n") || prompt.hasSuffix("<think>")
            // A template that ignores enable_thinking (DeepSeek-R1's) still opens `<think>`: the model thinks.
            var parser = try parserName.map {
                try ReasoningParsers.make($0, promptOpensThinking: opensThinking, thinkingDisabled: thinkingDisabled && !opensThinking)
            }
            turn += 1
            try engine.addRequest("turn-\(turn)", prompt: .tokens(loaded.encode(prompt, addSpecialTokens: false)),
                                  params: params, outputKind: .delta)
            var answer = "", thinking = false
            func show(reasoning: String?, content: String?) {
                if let reasoning, !reasoning.isEmpty {
                    if !thinking { print("\(dim.0)Thinking: ", terminator: ""); thinking = true }
                    print(reasoning, terminator: "")
                }
                if let content, !content.isEmpty {
                    if thinking { print("\(dim.1)\n", terminator: ""); thinking = false }
                    print(content, terminator: "")
                    answer += content
                }
                fflush(nil)
            }
            while engine.hasUnfinishedRequests {
                for output in try engine.step() {
                    let delta = output.outputs[0].text
                    if var p = parser {
                        if let piece = p.extractStreaming(delta: delta) { show(reasoning: piece.reasoning, content: piece.content) }
                        if output.finished, let piece = p.finish() { show(reasoning: piece.reasoning, content: piece.content) }
                        parser = p
                    } else {
                        show(reasoning: nil, content: delta)
                    }
                }
            }
            if thinking { print(dim.1, terminator: "") }
            print()
            history.append(["role": "assistant", "content": answer])
        }
    }
}
