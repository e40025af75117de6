import Foundation
import Testing

/// One chat request sent to a scripted server twice, whole and streamed (with usage), and the
/// checks every such pair must pass whatever the parsers: the stream's shape as vLLM sends it,
/// and the stream adding up to the whole response.
struct ChatExchange {
    let full: WireCompletion
    let stream: WireStream

    /// The whole response's one message.
    var message: WireCompletion.Message { full.choices.first?.message ?? WireCompletion.Message() }
    var finishReason: String? { full.choices.first?.finishReason }

    static func run(_ server: ScriptedServer, reasoningParser: String?, toolCallParser: String? = nil,
                    request: [String: Any]) async throws -> ChatExchange {
        var request = request
        request["model"] = "scripted"
        request["temperature"] = 0
        let whole = String(decoding: try JSONSerialization.data(withJSONObject: request), as: UTF8.self)
        request["stream"] = true
        request["stream_options"] = ["include_usage": true]
        let streamed = String(decoding: try JSONSerialization.data(withJSONObject: request), as: UTF8.self)
        let (full, stream) = try await server.serve(reasoningParser: reasoningParser, toolCallParser: toolCallParser) { client in
            (try await client.postChat(whole), try await client.postChat(streamed))
        }
        try #require(full.status == 200, "\(full.body)")
        try #require(stream.status == 200, "\(stream.body)")
        return ChatExchange(full: try WireCompletion.decode(Data(full.body.utf8)), stream: try WireStream(body: stream.body))
    }

    /// The stream as vLLM sends it: the role first, then reasoning, then content, then tool calls
    /// (each call's id, type and name in its first piece, argument text after), one finish
    /// reason, usage alone in the last chunk, `data: [DONE]`. `namesAlone`: a call's first piece
    /// carries no arguments (hermes streams the name as soon as it is complete).
    func checkStreamShape(namesAlone: Bool, sourceLocation: SourceLocation = #_sourceLocation) {
        let chunks = stream.chunks
        #expect(stream.strayLines.isEmpty, "\(stream.strayLines)", sourceLocation: sourceLocation)
        #expect(stream.endsWithDone, sourceLocation: sourceLocation)
        #expect(chunks.allSatisfy { $0.object == "chat.completion.chunk" && $0.id == chunks.first?.id }, sourceLocation: sourceLocation)
        #expect(chunks.first?.id.hasPrefix("chatcmpl-") == true, sourceLocation: sourceLocation)

        let deltas = stream.deltas
        let first = deltas.first
        #expect(first?.role == "assistant" && first?.content == "" && first?.reasoningContent == nil && first?.toolCalls == nil,
                "first delta: \(String(describing: first))", sourceLocation: sourceLocation)
        #expect(deltas.dropFirst().allSatisfy { $0.role == nil }, sourceLocation: sourceLocation)

        // Phases only move forward: 0 reasoning, 1 content, 2 tool calls.
        var phase = 0
        for delta in deltas.dropFirst() {
            if delta.reasoningContent != nil {
                #expect(phase == 0, "reasoning after content or a tool call: \(delta)", sourceLocation: sourceLocation)
            }
            if delta.content?.isEmpty == false {
                #expect(phase <= 1, "content after a tool call: \(delta)", sourceLocation: sourceLocation)
                phase = max(phase, 1)
            }
            if delta.toolCalls != nil { phase = 2 }
        }

        var seen = -1
        for call in deltas.flatMap({ $0.toolCalls ?? [] }) {
            let index = call.index ?? -1
            if index == seen + 1 {
                seen = index
                #expect(call.id?.hasPrefix("chatcmpl-tool-") == true && call.type == "function" && call.function?.name != nil,
                        "first piece of call \(index): \(call)", sourceLocation: sourceLocation)
                if namesAlone {
                    #expect(call.function?.arguments == nil, "first piece of call \(index): \(call)", sourceLocation: sourceLocation)
                }
            } else {
                #expect(index == seen, "call index \(index) after \(seen)", sourceLocation: sourceLocation)
                #expect(call.id == nil && call.type == nil && call.function?.name == nil && call.function?.arguments?.isEmpty == false,
                        "later piece of call \(index): \(call)", sourceLocation: sourceLocation)
            }
        }

        let withChoices = chunks.filter { !$0.choices.isEmpty }
        #expect(withChoices.dropLast().allSatisfy { $0.choices.allSatisfy { $0.finishReason == nil } }, sourceLocation: sourceLocation)
        #expect(withChoices.last?.choices.first?.finishReason != nil, sourceLocation: sourceLocation)
        #expect(chunks.dropLast().allSatisfy { $0.usage == nil }, sourceLocation: sourceLocation)
        #expect(chunks.last?.choices.isEmpty == true && chunks.last?.usage != nil, sourceLocation: sourceLocation)
    }

    /// The stream's deltas add up to the whole response (tool call ids are drawn per response).
    func checkStreamMatchesWhole(sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(full.object == "chat.completion" && full.choices.count == 1 && message.role == "assistant", sourceLocation: sourceLocation)
        #expect(stream.reasoning == message.reasoningContent, sourceLocation: sourceLocation)
        #expect((stream.content.isEmpty ? nil : stream.content) == message.content, sourceLocation: sourceLocation)
        let whole = (message.toolCalls ?? []).map { "\($0.function?.name ?? "nil") \($0.function?.arguments ?? "nil")" }
        let streamed = stream.toolCalls.map { "\($0.name ?? "nil") \($0.arguments)" }
        #expect(streamed == whole, sourceLocation: sourceLocation)
        let ids = (message.toolCalls ?? []).compactMap(\.id)
        #expect(ids.count == whole.count && Set(ids).count == ids.count && ids.allSatisfy { $0.hasPrefix("chatcmpl-tool-") },
                "\(ids)", sourceLocation: sourceLocation)
        #expect((message.toolCalls ?? []).allSatisfy { $0.type == "function" }, sourceLocation: sourceLocation)
        #expect(stream.finishReasons == [finishReason].compactMap { $0 }, sourceLocation: sourceLocation)
        #expect(stream.chunks.last?.usage == full.usage, sourceLocation: sourceLocation)
    }

    /// Both checks, and the completion tokens: the whole script (EOS included) unless cut short.
    func checkAll(_ server: ScriptedServer, namesAlone: Bool = true, completionTokens: Int? = nil,
                  sourceLocation: SourceLocation = #_sourceLocation) {
        checkStreamShape(namesAlone: namesAlone, sourceLocation: sourceLocation)
        checkStreamMatchesWhole(sourceLocation: sourceLocation)
        #expect(full.usage?.completionTokens == completionTokens ?? server.script.count, sourceLocation: sourceLocation)
    }
}
