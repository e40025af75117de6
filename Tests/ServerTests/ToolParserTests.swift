import Server
import Testing

/// What a client rebuilds from a tool-call stream: content, and per call index its id, name and
/// the concatenation of its argument deltas.
private struct Streamed: Equatable, CustomStringConvertible {
    var content = ""
    var calls: [(id: String, name: String, arguments: String)] = []

    static func == (a: Streamed, b: Streamed) -> Bool {
        a.content == b.content && a.calls.map(\.name) == b.calls.map(\.name) && a.calls.map(\.arguments) == b.calls.map(\.arguments)
    }
    var description: String { "content \(content.debugDescription), calls \(calls.map { "\($0.name)(\($0.arguments))" })" }

    mutating func take(_ delta: ToolStreamDelta?) {
        guard let delta else { return }
        #expect(delta.content != "", "no empty content strings")
        #expect(delta.content != nil || !delta.toolCalls.isEmpty, "an empty delta is nil")
        content += delta.content ?? ""
        for call in delta.toolCalls {
            if call.index == calls.count {
                // The first piece of a call names it.
                #expect(call.id != nil && call.name != nil, "first piece of call \(call.index) carries id and name")
                calls.append((call.id ?? "", call.name ?? "", call.argumentsDelta ?? ""))
            } else if call.index == calls.count - 1 {
                #expect(call.id == nil && call.name == nil, "id and name are sent once")
                calls[call.index].arguments += call.argumentsDelta ?? ""
            } else {
                Issue.record("tool call index \(call.index) out of order")
            }
        }
    }
}

private func stream(_ name: String, _ deltas: [String], tools: [ToolDefinition] = []) throws -> Streamed {
    var parser = try ToolParsers.make(name, tools: tools)
    var result = Streamed()
    for delta in deltas { result.take(parser.extractStreaming(delta: delta)) }
    result.take(parser.finish())
    return result
}

/// Checks `extract` against the expected calls, then that every way of streaming adds up to it.
private func check(_ name: String, _ output: String, content: String?, calls expected: [(name: String, arguments: String)], tools: [ToolDefinition] = [], sourceLocation: SourceLocation = #_sourceLocation) throws {
    let parser = try ToolParsers.make(name, tools: tools)
    let whole = parser.extract(output)
    #expect(whole.content == content, "content", sourceLocation: sourceLocation)
    #expect(whole.toolCalls.map(\.name) == expected.map(\.name), sourceLocation: sourceLocation)
    #expect(whole.toolCalls.map(\.arguments) == expected.map(\.arguments), sourceLocation: sourceLocation)
    for call in whole.toolCalls { #expect(isVLLMToolCallID(call.id), sourceLocation: sourceLocation) }
    let want = Streamed(content: content ?? "", calls: expected.map { ("", $0.name, $0.arguments) })
    for deltas in StreamSplits.all(output) {
        let got = try stream(name, deltas, tools: tools)
        if got != want {
            Issue.record("streamed \(deltas) gave \(got), want \(want)", sourceLocation: sourceLocation)
            return
        }
    }
}

private func isVLLMToolCallID(_ id: String) -> Bool {
    id.hasPrefix("chatcmpl-tool-") && id.dropFirst(14).count == 32 && id.dropFirst(14).allSatisfy(\.isHexDigit)
}

// Recorded outputs (the content after reasoning), in each model's real format.

/// Qwen3: text, then two calls with nested objects, arrays, unicode, escapes, numbers, literals.
private let qwenToolOutput = #"""
I'll search first, then save the notes.
<tool_call>
{"name": "search", "arguments": {"query": "Zürich \"Altstadt\" café", "filters": {"lang": ["de", "en"], "max_results": 5, "safe": true, "near": null}, "emoji": "🦅 \ud83d\ude00", "path": "C:\\temp\\x"}}
</tool_call>
<tool_call>
{"name": "write_file", "arguments": {"path": "notes/osprey.md", "content": "# Osprey\n\nLine with \"quotes\" and a tab\there.\n", "mode": 420, "ratio": -1.5e-3, "tags": [], "meta": {}}}
</tool_call>
"""#

private let qwenToolCalls: [(name: String, arguments: String)] = [
    ("search", #"{"query": "Zürich \"Altstadt\" café", "filters": {"lang": ["de", "en"], "max_results": 5, "safe": true, "near": null}, "emoji": "🦅 😀", "path": "C:\\temp\\x"}"#),
    ("write_file", ##"{"path": "notes/osprey.md", "content": "# Osprey\n\nLine with \"quotes\" and a tab\there.\n", "mode": 420, "ratio": -1.5e-3, "tags": [], "meta": {}}"##),
]

/// GLM-4.5: a call per block, `<arg_key>`/`<arg_value>` pairs, values typed by the schema.
private let glmToolOutput = """
我来帮你查询北京和上海的天气。
<tool_call>get_weather
<arg_key>city</arg_key>
<arg_value>北京</arg_value>
<arg_key>days</arg_key>
<arg_value>3</arg_value>
<arg_key>zip</arg_key>
<arg_value>100000</arg_value>
</tool_call>
<tool_call>get_weather
<arg_key>city</arg_key>
<arg_value>上海</arg_value>
<arg_key>options</arg_key>
<arg_value>{"units": "metric", "hourly": false}</arg_value>
<arg_key>verbose</arg_key>
<arg_value>True</arg_value>
</tool_call>
"""

private let weatherTool = ToolDefinition(name: "get_weather", parametersJSON: """
{"type": "object", "properties": {"city": {"type": "string", "description": "城市"}, "days": {"type": "integer"}, "zip": {"type": "string"}, "options": {"type": "object"}, "verbose": {"type": "boolean"}}, "required": ["city"]}
""")

@Suite struct ToolParserTests {
    @Test func registryNamesAndUnknownName() throws {
        #expect(ToolParsers.names == ["glm45", "hermes"])
        #expect(throws: ToolParserError.unknownParser("mistral")) { try ToolParsers.make("mistral") }
        #expect(weatherTool.parameterType("city") == "string")
        #expect(weatherTool.parameterTypes == ["city": "string", "days": "integer", "zip": "string", "options": "object", "verbose": "boolean"])
        #expect(ToolDefinition(name: "f", parametersJSON: "not json").parameterTypes.isEmpty)
    }

    @Test func hermesMultipleCallsNestedUnicodeEscapes() throws {
        try check("hermes", qwenToolOutput, content: "I'll search first, then save the notes.\n", calls: qwenToolCalls)
    }

    @Test func hermesContentOnly() throws {
        try check("hermes", "The capital of France is Paris. <tool_ is not a tag", content: "The capital of France is Paris. <tool_ is not a tag", calls: [])
    }

    @Test func hermesAfterReasoningWhitespace() throws {
        // Qwen3 after `</think>`: content starts with "\n\n"; vLLM keeps it as content.
        try check("hermes", "\n\n<tool_call>\n{\"name\": \"get_time\", \"arguments\": {}}\n</tool_call>", content: "\n\n", calls: [("get_time", "{}")])
        try check("hermes", "<tool_call>\n{\"name\": \"get_time\", \"arguments\": {}}\n</tool_call>", content: nil, calls: [("get_time", "{}")])
    }

    @Test func hermesUnclosedLastCallIsAccepted() throws {
        // The model stopped at EOS (or max_tokens) right after the JSON.
        let output = "<tool_call>\n{\"name\": \"a\", \"arguments\": {\"x\": 1}}\n</tool_call>\n<tool_call>\n{\"name\": \"b\", \"arguments\": {\"y\": [1, 2.5, \"z\"]}}\n"
        try check("hermes", output, content: nil, calls: [("a", #"{"x": 1}"#), ("b", #"{"y": [1, 2.5, "z"]}"#)])
    }

    @Test func hermesMissingArgumentsReadAsEmptyObject() throws {
        try check("hermes", "<tool_call>{\"name\": \"now\"}</tool_call>", content: nil, calls: [("now", "{}")])
        // Arguments before the name: streamed once the name is known.
        try check("hermes", "<tool_call>{\"arguments\": {\"q\": \"x\"}, \"name\": \"find\"}</tool_call>", content: nil, calls: [("find", #"{"q": "x"}"#)])
    }

    @Test func hermesMalformedJSONIsContent() throws {
        // Python-style quotes: broken before the name is complete, so streaming agrees with
        // `extract` and sends the whole text as content.
        let broken = "Let me check.\n<tool_call>\n{'name': 'get_weather', 'arguments': {'city': 'Tokyo'}}\n</tool_call>"
        let parser = try ToolParsers.make("hermes")
        let whole = parser.extract(broken)
        #expect(whole.content == broken)
        #expect(whole.toolCalls.isEmpty)
        for deltas in StreamSplits.all(broken, randomRuns: 5) {
            let got = try stream("hermes", deltas)
            #expect(got.calls.isEmpty)
            #expect(got.content == broken)
        }
        // Broken after the name was streamed: `extract` gives content; a stream cannot take the
        // name back, so it stops that call's arguments where the JSON broke.
        let late = "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": Tokyo}}\n</tool_call>"
        #expect(parser.extract(late).content == late)
        #expect(parser.extract(late).toolCalls.isEmpty)
        let lateStream = try stream("hermes", ["<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": ", "Tokyo}}\n</tool_call>"])
        #expect(lateStream.calls.map(\.arguments) == [#"{"city": "#])
        #expect(lateStream.content == "")
        // Seen whole in one delta, the stream agrees with `extract`.
        let oneDelta = try stream("hermes", [late])
        #expect(oneDelta.calls.isEmpty && oneDelta.content == late)
        // Not an object, no name, truncated mid-JSON: content, never a crash.
        for text in ["<tool_call>[1, 2]</tool_call>", "<tool_call>{\"arguments\": {}}</tool_call>", "x<tool_call>{\"name\": \"f\", \"argu", "<tool_call>"] {
            let r = parser.extract(text)
            #expect(r.content == text && r.toolCalls.isEmpty)
            for deltas in StreamSplits.all(text, randomRuns: 3) { _ = try stream("hermes", deltas) }
        }
    }

    @Test func hermesStreamsNameThenArgumentDiffs() throws {
        var parser = try ToolParsers.make("hermes")
        #expect(parser.extractStreaming(delta: "Checking.") == ToolStreamDelta(content: "Checking."))
        #expect(parser.extractStreaming(delta: "\n<tool_") == ToolStreamDelta(content: "\n"), "a split tag is held back")
        #expect(parser.extractStreaming(delta: "call>\n{\"name\": \"get_wea") == nil, "the name is sent only when complete")
        let named = parser.extractStreaming(delta: "ther\", \"arguments\": {\"ci")
        #expect(named?.toolCalls.count == 1)
        #expect(named?.toolCalls.first?.name == "get_weather")
        #expect(named?.toolCalls.first?.index == 0)
        #expect(named?.toolCalls.first?.argumentsDelta == "{")
        #expect(isVLLMToolCallID(named?.toolCalls.first?.id ?? ""))
        #expect(parser.extractStreaming(delta: "ty\": \"Tok") == ToolStreamDelta(toolCalls: [ToolCallDelta(index: 0, argumentsDelta: #""city": "Tok"#)]))
        #expect(parser.extractStreaming(delta: "yo\", \"days\": 1") == ToolStreamDelta(toolCalls: [ToolCallDelta(index: 0, argumentsDelta: #"yo", "days": "#)]), "a number that may grow waits")
        #expect(parser.extractStreaming(delta: "0}}\n</tool") == ToolStreamDelta(toolCalls: [ToolCallDelta(index: 0, argumentsDelta: "10}")]))
        #expect(parser.extractStreaming(delta: "_call>") == nil)
        #expect(parser.extractStreaming(delta: "<|im_end|>") == nil, "text after the calls is dropped")
        #expect(parser.finish() == nil)
    }

    @Test func hermesTagSplitAcrossDeltasIsHeldBack() throws {
        var parser = try ToolParsers.make("hermes")
        #expect(parser.extractStreaming(delta: "Sure <") == ToolStreamDelta(content: "Sure "))
        #expect(parser.extractStreaming(delta: "tool") == nil)
        #expect(parser.extractStreaming(delta: "_ca") == nil)
        let call = parser.extractStreaming(delta: "ll>{\"name\": \"f\", \"arguments\": {}}</")
        #expect(call?.content == nil)
        #expect(call?.toolCalls.map(\.name) == ["f"])
        #expect(call?.toolCalls.map(\.argumentsDelta) == ["{}"])
        #expect(parser.finish() == nil, "a held `</` after the call is not content")
        // A held prefix that is not a tag is released.
        var other = try ToolParsers.make("hermes")
        #expect(other.extractStreaming(delta: "a <tool") == ToolStreamDelta(content: "a "))
        #expect(other.extractStreaming(delta: "box> b") == ToolStreamDelta(content: "<toolbox> b"))
        #expect(other.extractStreaming(delta: " <tool_c") == ToolStreamDelta(content: " "))
        #expect(other.finish() == ToolStreamDelta(content: "<tool_c"), "held text comes out at the end")
    }

    @Test func hermesCallIDsAreUnique() throws {
        let calls = try ToolParsers.make("hermes").extract(qwenToolOutput).toolCalls
        #expect(Set(calls.map(\.id)).count == calls.count)
    }

    @Test func glm45TypesArgumentsBySchema() throws {
        try check("glm45", glmToolOutput, content: "我来帮你查询北京和上海的天气。\n", calls: [
            ("get_weather", #"{"city": "北京", "days": 3, "zip": "100000"}"#),
            ("get_weather", #"{"city": "上海", "options": {"units": "metric", "hourly": false}, "verbose": true}"#),
        ], tools: [weatherTool])
        // Without a schema a number-looking value becomes a number.
        try check("glm45", glmToolOutput, content: "我来帮你查询北京和上海的天气。\n", calls: [
            ("get_weather", #"{"city": "北京", "days": 3, "zip": 100000}"#),
            ("get_weather", #"{"city": "上海", "options": {"units": "metric", "hourly": false}, "verbose": true}"#),
        ])
    }

    @Test func glm45ValueForms() throws {
        let output = "<tool_call>run\n<arg_key>code</arg_key>\n<arg_value>print(\"hi\")\nx = 1</arg_value>\n<arg_key>escaped</arg_key>\n<arg_value>{\\\"a\\\": [1, null]}</arg_value>\n<arg_key>none</arg_key>\n<arg_value>None</arg_value>\n</tool_call>"
        try check("glm45", output, content: nil, calls: [("run", #"{"code": "print(\"hi\")\nx = 1", "escaped": {"a": [1, null]}, "none": null}"#)])
        // A call with no arguments.
        try check("glm45", "<tool_call>get_time\n</tool_call>", content: nil, calls: [("get_time", "{}")])
        try check("glm45", "<tool_call>\nget_time</tool_call>", content: nil, calls: [("get_time", "{}")])
        // No name at all: not a call, so the output is content.
        try check("glm45", "<tool_call>\n<arg_key>a</arg_key><arg_value>1</arg_value></tool_call>", content: "<tool_call>\n<arg_key>a</arg_key><arg_value>1</arg_value></tool_call>", calls: [])
    }

    @Test func glm45UnclosedCallIsNotACall() throws {
        let cut = "查询中。\n<tool_call>get_weather\n<arg_key>city</arg_key>\n<arg_value>北"
        try check("glm45", cut, content: cut, calls: [])
        let afterOne = "<tool_call>a\n</tool_call>\n<tool_call>b\n<arg_key>x"
        try check("glm45", afterOne, content: nil, calls: [("a", "{}")])
    }

    @Test func glm45StreamsWholeCallsAndHoldsSplitTags() throws {
        var parser = try ToolParsers.make("glm45", tools: [weatherTool])
        #expect(parser.extractStreaming(delta: "好的<tool") == ToolStreamDelta(content: "好的"))
        #expect(parser.extractStreaming(delta: "_call>get_weather\n<arg_key>city</arg_key><arg_value>北京</arg_value></tool_") == nil)
        let done = parser.extractStreaming(delta: "call>")
        #expect(done?.content == nil)
        #expect(done?.toolCalls.map(\.name) == ["get_weather"])
        #expect(done?.toolCalls.map(\.argumentsDelta) == [#"{"city": "北京"}"#])
        #expect(parser.finish() == nil)
    }

    @Test func reasoningThenToolCallsPipeline() throws {
        // Qwen3-8B with thinking and tools: reasoning parser first, its content into the tool parser.
        let output = "<think>\nThe user wants the weather in Tokyo. I'll call get_weather.\n</think>\n\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"東京\", \"unit\": \"celsius\"}}\n</tool_call>"
        let reasoning = try ReasoningParsers.make("qwen3").extract(output)
        #expect(reasoning.reasoning == "\nThe user wants the weather in Tokyo. I'll call get_weather.\n")
        let tools = try ToolParsers.make("hermes").extract(reasoning.content ?? "")
        #expect(tools.toolCalls.map(\.arguments) == [#"{"city": "東京", "unit": "celsius"}"#])
        for deltas in StreamSplits.all(output, randomRuns: 10) {
            var r = try ReasoningParsers.make("qwen3")
            var t = try ToolParsers.make("hermes")
            var streamed = Streamed()
            var thought = ""
            for delta in deltas {
                let step = r.extractStreaming(delta: delta)
                thought += step?.reasoning ?? ""
                if let content = step?.content { streamed.take(t.extractStreaming(delta: content)) }
            }
            if let rest = r.finish() {
                thought += rest.reasoning ?? ""
                if let content = rest.content { streamed.take(t.extractStreaming(delta: content)) }
            }
            streamed.take(t.finish())
            #expect(thought == reasoning.reasoning)
            #expect(streamed.content == "\n\n")
            #expect(streamed.calls.map(\.arguments) == tools.toolCalls.map(\.arguments))
        }
    }
}
