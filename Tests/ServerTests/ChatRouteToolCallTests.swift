import Foundation
import Testing

/// Tool parsers through `POST /v1/chat/completions`, after reasoning as a thinking model writes
/// them: ids, names, arguments as JSON strings, `finish_reason: "tool_calls"`, and the same
/// calls streamed piece by piece.
struct ChatRouteToolCallTests {
    static func function(_ name: String, _ properties: [String: String]) -> [String: Any] {
        ["type": "function", "function": [
            "name": name, "description": "\(name) for a city.",
            "parameters": ["type": "object", "properties": properties.mapValues { ["type": $0] }, "required": ["city"]],
        ] as [String: Any]]
    }

    static var tools: [[String: Any]] { [function("get_weather", ["city": "string", "days": "integer"]), function("get_time", ["city": "string"])] }

    static func request(_ question: String, toolChoice: String? = nil) -> [String: Any] {
        var request: [String: Any] = ["messages": [["role": "user", "content": question]], "tools": tools]
        request["tool_choice"] = toolChoice
        return request
    }

    static func hermesCall(_ name: String, _ arguments: String) -> String {
        "<tool_call>\n{\"name\": \"\(name)\", \"arguments\": \(arguments)}\n</tool_call>"
    }

    func calls(_ exchange: ChatExchange) -> [String] {
        (exchange.message.toolCalls ?? []).map { "\($0.function?.name ?? "nil") \($0.function?.arguments ?? "nil")" }
    }

    @Test func hermesCallAfterReasoning() async throws {
        let output = "<think>\nThe user wants the weather.\n</think>\n\n" + Self.hermesCall("get_weather", #"{"city": "Paris", "days": 3}"#)
        let server = try ScriptedServer(template: .qwen3, output: output)
        let exchange = try await ChatExchange.run(server, reasoningParser: "qwen3", toolCallParser: "hermes",
                                                  request: Self.request("Weather in Paris for 3 days?"))
        exchange.checkAll(server)
        #expect(exchange.message.reasoningContent == "\nThe user wants the weather.\n")
        #expect(exchange.message.content == "\n\n")
        #expect(calls(exchange) == [#"get_weather {"city": "Paris", "days": 3}"#])
        #expect(exchange.finishReason == "tool_calls")
        // The arguments arrive in several pieces, not as one block at the end.
        let pieces = exchange.stream.deltas.flatMap { $0.toolCalls ?? [] }.filter { $0.function?.arguments != nil }
        #expect(pieces.count > 2)
    }

    @Test func hermesTwoParallelCalls() async throws {
        let output = "<think>\nTwo questions, two calls.\n</think>\n\n" + Self.hermesCall("get_weather", #"{"city": "Paris"}"#)
            + "\n" + Self.hermesCall("get_time", #"{"city": "Tokyo"}"#)
        let server = try ScriptedServer(template: .qwen3, output: output)
        let exchange = try await ChatExchange.run(server, reasoningParser: "qwen3", toolCallParser: "hermes",
                                                  request: Self.request("Weather in Paris and time in Tokyo?"))
        exchange.checkAll(server)
        #expect(exchange.message.reasoningContent == "\nTwo questions, two calls.\n")
        #expect(calls(exchange) == [#"get_weather {"city": "Paris"}"#, #"get_time {"city": "Tokyo"}"#])
        #expect(exchange.finishReason == "tool_calls")
        #expect(exchange.stream.toolCalls.map(\.name) == ["get_weather", "get_time"])
    }

    @Test func hermesTextBeforeAnUnclosedLastCall() async throws {
        // The model stopped (EOS) before `</tool_call>`: the call still counts, the text before
        // it is content.
        let output = "Let me check the weather.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n"
        let server = try ScriptedServer(template: .qwen3, output: output)
        let exchange = try await ChatExchange.run(server, reasoningParser: nil, toolCallParser: "hermes",
                                                  request: Self.request("Weather in Paris?"))
        exchange.checkAll(server)
        #expect(exchange.message.reasoningContent == nil)
        #expect(exchange.message.content == "Let me check the weather.\n")
        #expect(calls(exchange) == [#"get_weather {"city": "Paris"}"#])
        #expect(exchange.finishReason == "tool_calls")
    }

    @Test func glm45CallTypedBySchema() async throws {
        // `days` is an integer in the schema, `city` a string: 3 is a number, 北京 stays text.
        let output = "<think>The user wants the weather in Beijing.</think>\n<tool_call>get_weather\n<arg_key>city</arg_key>\n"
            + "<arg_value>北京</arg_value>\n<arg_key>days</arg_key>\n<arg_value>3</arg_value>\n</tool_call>"
        let server = try ScriptedServer(template: .glm45, output: output)
        let exchange = try await ChatExchange.run(server, reasoningParser: "glm45", toolCallParser: "glm45",
                                                  request: Self.request("北京天气?"))
        // GLM-4.5 calls are sent whole when `</tool_call>` arrives (vLLM's glm45 parser).
        exchange.checkAll(server, namesAlone: false)
        #expect(exchange.message.reasoningContent == "The user wants the weather in Beijing.")
        #expect(exchange.message.content == "\n")
        #expect(calls(exchange) == [#"get_weather {"city": "北京", "days": 3}"#])
        #expect(exchange.finishReason == "tool_calls")
    }

    @Test func malformedCallIsReturnedAsContent() async throws {
        // Python call syntax instead of JSON: not a call; the text is the answer.
        let output = "<tool_call>\nget_weather(city=\"Paris\")\n</tool_call>"
        let server = try ScriptedServer(template: .qwen3, output: output)
        let exchange = try await ChatExchange.run(server, reasoningParser: nil, toolCallParser: "hermes",
                                                  request: Self.request("Weather in Paris?"))
        exchange.checkAll(server)
        #expect(exchange.message.content == output)
        #expect(exchange.message.toolCalls?.isEmpty == true)
        #expect(exchange.finishReason == "stop")
        #expect(exchange.stream.deltas.allSatisfy { $0.toolCalls == nil })
    }

    @Test func toolChoiceNoneLeavesCallsAsContent() async throws {
        let call = Self.hermesCall("get_weather", #"{"city": "Paris"}"#)
        let server = try ScriptedServer(template: .qwen3, output: "<think>\nI may not call tools.\n</think>\n\n" + call)
        let exchange = try await ChatExchange.run(server, reasoningParser: "qwen3", toolCallParser: "hermes",
                                                  request: Self.request("Weather in Paris?", toolChoice: "none"))
        exchange.checkAll(server)
        #expect(exchange.message.reasoningContent == "\nI may not call tools.\n")
        #expect(exchange.message.content == "\n\n" + call)
        #expect(exchange.message.toolCalls?.isEmpty == true)
        #expect(exchange.finishReason == "stop")
    }
}
