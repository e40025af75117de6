import Foundation
import Hummingbird
import HummingbirdTesting

/// Chat completion responses as a client reads them off the wire: decoded from the JSON the
/// server sent (not from the server's own types), so a wrong key or type fails the test.
struct WireCompletion: Decodable {
    struct Function: Decodable {
        var name: String?
        /// A JSON string: an object here would fail decoding, as it would fail OpenAI clients.
        var arguments: String?
    }
    struct ToolCall: Decodable {
        var index: Int?
        var id: String?
        var type: String?
        var function: Function?
    }
    struct Message: Decodable {
        var role: String?
        var content: String?
        var reasoningContent: String?
        var toolCalls: [ToolCall]?
    }
    struct Choice: Decodable {
        var index: Int
        var message: Message?
        var delta: Message?
        var finishReason: String?
    }
    struct Usage: Decodable, Equatable {
        var promptTokens: Int
        var completionTokens: Int
        var totalTokens: Int
    }

    var id: String
    var object: String
    var choices: [Choice]
    var usage: Usage?

    static func decode(_ data: Data) throws -> WireCompletion {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try decoder.decode(WireCompletion.self, from: data)
    }
}

/// A streamed chat completion: its `data:` events in order, and the message they add up to.
struct WireStream {
    /// Every event but the final `[DONE]`.
    var chunks: [WireCompletion] = []
    var endsWithDone = false
    /// Lines of the body that are neither `data: …` nor blank (SSE framing errors).
    var strayLines: [String] = []

    init(body: String) throws {
        var events = body.components(separatedBy: "\n").filter { !$0.isEmpty }
        for line in events where !line.hasPrefix("data: ") { strayLines.append(line) }
        events = events.filter { $0.hasPrefix("data: ") }.map { String($0.dropFirst(6)) }
        if events.last == "[DONE]" {
            endsWithDone = true
            events.removeLast()
        }
        chunks = try events.map { try WireCompletion.decode(Data($0.utf8)) }
    }

    /// The deltas of choice 0, in order.
    var deltas: [WireCompletion.Message] { chunks.flatMap { $0.choices.filter { $0.index == 0 }.compactMap(\.delta) } }

    /// Concatenated `reasoning_content` deltas; nil when there were none.
    var reasoning: String? {
        let parts = deltas.compactMap(\.reasoningContent)
        return parts.isEmpty ? nil : parts.joined()
    }

    /// Concatenated `content` deltas (the role chunk's `""` included).
    var content: String { deltas.compactMap(\.content).joined() }

    /// Tool calls assembled by `index`: the id and name of each call's first piece, and its
    /// argument pieces concatenated.
    var toolCalls: [(id: String?, name: String?, arguments: String)] {
        var calls: [Int: (id: String?, name: String?, arguments: String)] = [:]
        for call in deltas.flatMap({ $0.toolCalls ?? [] }) {
            let index = call.index ?? -1
            var entry = calls[index] ?? (call.id, call.function?.name, "")
            entry.arguments += call.function?.arguments ?? ""
            calls[index] = entry
        }
        return calls.keys.sorted().map { calls[$0]! }
    }

    var finishReasons: [String] { chunks.flatMap { $0.choices.compactMap(\.finishReason) } }
}

extension TestClientProtocol {
    /// POSTs a chat completion request (JSON text) and returns the status and body.
    func postChat(_ json: String) async throws -> (status: Int, body: String) {
        let response = try await executeRequest(uri: "/v1/chat/completions", method: .post,
                                                headers: [.contentType: "application/json"], body: ByteBuffer(string: json))
        return (response.status.code, String(decoding: response.body.readableBytesView, as: UTF8.self))
    }
}
