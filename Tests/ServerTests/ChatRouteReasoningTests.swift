import Foundation
import Testing

/// Reasoning parsers through `POST /v1/chat/completions`: a scripted model emits a fixed text
/// through the real engine, detokenizer and route, whole and streamed, with the real Qwen3 and
/// DeepSeek-R1 chat templates deciding whether the prompt already opened `<think>`.
struct ChatRouteReasoningTests {
    static var question: [String: Any] { ["messages": [["role": "user", "content": "What is the capital of France?"]]] }

    @Test func qwen3SplitsThinkingFromTheAnswer() async throws {
        let server = try ScriptedServer(template: .qwen3, output: "<think>\nThe user asks for a capital.\n</think>\n\nThe capital of France is Paris.")
        let exchange = try await ChatExchange.run(server, reasoningParser: "qwen3", request: Self.question)
        exchange.checkAll(server)
        #expect(exchange.message.reasoningContent == "\nThe user asks for a capital.\n")
        // Qwen3 writes `</think>\n\n`: the blank line is the answer's, as vLLM returns it.
        #expect(exchange.message.content == "\n\nThe capital of France is Paris.")
        #expect(exchange.message.toolCalls?.isEmpty == true)
        #expect(exchange.finishReason == "stop")
        // Streamed: reasoning pieces first, then content pieces, none of them a tag.
        let pieces = exchange.stream.deltas.dropFirst()
        #expect(pieces.contains { $0.reasoningContent != nil } && pieces.contains { $0.content?.isEmpty == false })
        #expect(!pieces.contains { ($0.reasoningContent ?? "").contains("think>") || ($0.content ?? "").contains("think>") })
    }

    @Test func qwen3WithThinkingDisabledIsAllContent() async throws {
        // Without `</think>` the qwen3 parser reads text as reasoning; `enable_thinking: false`
        // (the template closed the block in the prompt) must make it all content.
        let server = try ScriptedServer(template: .qwen3, output: "The capital of France is Paris.")
        var request = Self.question
        request["chat_template_kwargs"] = ["enable_thinking": false]
        let exchange = try await ChatExchange.run(server, reasoningParser: "qwen3", request: request)
        exchange.checkAll(server)
        #expect(exchange.message.reasoningContent == nil)
        #expect(exchange.message.content == "The capital of France is Paris.")
        #expect(exchange.stream.deltas.allSatisfy { $0.reasoningContent == nil })
    }

    @Test func deepSeekR1PromptOpensThinking() async throws {
        // The template ends the prompt with `<think>\n`: the output has no opening tag.
        let server = try ScriptedServer(template: .deepSeekR1, output: "France is a country in Europe.\n</think>\n\nThe capital of France is Paris.")
        let exchange = try await ChatExchange.run(server, reasoningParser: "deepseek_r1", request: Self.question)
        exchange.checkAll(server)
        #expect(exchange.message.reasoningContent == "France is a country in Europe.\n")
        #expect(exchange.message.content == "\n\nThe capital of France is Paris.")
        #expect(exchange.finishReason == "stop")
    }

    @Test func deepSeekR1ThinksWhateverEnableThinkingSays() async throws {
        // The DeepSeek-R1 template ignores `enable_thinking` and still opens `<think>`: the prompt,
        // not the flag, says the model is thinking (vLLM's deepseek_r1 parser ignores the flag).
        let server = try ScriptedServer(template: .deepSeekR1, output: "France is a country in Europe.\n</think>\n\nParis.")
        var request = Self.question
        request["chat_template_kwargs"] = ["enable_thinking": false]
        let exchange = try await ChatExchange.run(server, reasoningParser: "deepseek_r1", request: request)
        exchange.checkAll(server)
        #expect(exchange.message.reasoningContent == "France is a country in Europe.\n")
        #expect(exchange.message.content == "\n\nParis.")
    }

    @Test func deepSeekR1CutOffBeforeTheClosingTagIsAllReasoning() async throws {
        let server = try ScriptedServer(template: .deepSeekR1, output: "France is a country in Europe. Its capital, I recall, is Paris.\n</think>\n\nParis.")
        var request = Self.question
        request["max_tokens"] = 8
        let exchange = try await ChatExchange.run(server, reasoningParser: "deepseek_r1", request: request)
        exchange.checkAll(server, completionTokens: 8)
        let cut = server.loaded.tokenizer.decode(Array(server.script.prefix(8)))
        #expect(!cut.contains("</think>"))
        #expect(exchange.message.reasoningContent == cut)
        // No answer yet: `content` is null, as vLLM sends it.
        #expect(exchange.message.content == nil)
        #expect(exchange.finishReason == "length")
    }
}
