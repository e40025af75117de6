/// GLM-4.5's tool calls:
/// `<tool_call>get_weather\n<arg_key>city</arg_key>\n<arg_value>北京</arg_value>\n</tool_call>`.
///
/// Argument values are typed as vLLM's `glm45` parser types them: a parameter whose schema says
/// `"type": "string"` stays the raw text; any other value is read as JSON if it parses (also
/// after unescaping, for `{\"a\": 1}`), then as a Python literal (`True`, `False`, `None`), and
/// otherwise kept as a string. Only closed calls count (an unclosed one was cut off mid-call);
/// streaming sends each call whole when its `</tool_call>` arrives, as vLLM does.
public struct GLM45ToolParser: ToolParser {
    static let openTag = "<tool_call>"
    static let closeTag = "</tool_call>"
    static let keyOpen = "<arg_key>", keyClose = "</arg_key>"
    static let valueOpen = "<arg_value>", valueClose = "</arg_value>"

    public let tools: [ToolDefinition]

    private var held = ""
    private var inCall = false
    private var callsSent = 0
    /// A call failed to parse: the rest of the output is content.
    private var malformed = false

    public init(tools: [ToolDefinition] = []) {
        self.tools = tools
    }

    // MARK: Whole output

    public func extract(_ text: String) -> (content: String?, toolCalls: [ParsedToolCall]) {
        guard let first = TagScanning.find(Self.openTag, in: text) else { return (text.nonEmpty, []) }
        var calls: [ParsedToolCall] = []
        var rest = text[first.lowerBound...]
        while let open = TagScanning.find(Self.openTag, in: rest) {
            guard let close = TagScanning.find(Self.closeTag, in: rest[open.upperBound...]) else { break }
            guard let call = parseCall(rest[open.upperBound..<close.lowerBound]) else { return (text.nonEmpty, []) }
            calls.append(call)
            rest = rest[close.upperBound...]
        }
        if calls.isEmpty { return (text.nonEmpty, []) }
        return (text[..<first.lowerBound].nonEmpty, calls)
    }

    /// `name\n<arg_key>k</arg_key>\n<arg_value>v</arg_value>…` → a call; nil when there is no name.
    func parseCall(_ rawBody: Substring) -> ParsedToolCall? {
        let body = TagScanning.trimmingLeadingWhitespace(rawBody)
        let nameEnd = [body.firstIndex(of: "\n"), TagScanning.find(Self.keyOpen, in: body)?.lowerBound]
            .compactMap { $0 }.min() ?? body.endIndex
        let name = body[..<nameEnd].trimmingWhitespace()
        guard !name.isEmpty else { return nil }
        let tool = tools.first { $0.name == name }
        var arguments = "{"
        var count = 0
        var rest = body[nameEnd...]
        while let keyOpen = TagScanning.find(Self.keyOpen, in: rest),
              let keyClose = TagScanning.find(Self.keyClose, in: rest[keyOpen.upperBound...]),
              let valueOpen = TagScanning.find(Self.valueOpen, in: rest[keyClose.upperBound...]),
              rest[keyClose.upperBound..<valueOpen.lowerBound].allSatisfy(\.isWhitespace),
              let valueClose = TagScanning.find(Self.valueClose, in: rest[valueOpen.upperBound...]) {
            let key = String(rest[keyOpen.upperBound..<keyClose.lowerBound].trimmingWhitespace())
            let raw = String(rest[valueOpen.upperBound..<valueClose.lowerBound].trimmingWhitespace())
            if count > 0 { arguments += ", " }
            arguments += JSONRendering.quoted(key) + ": "
            arguments += tool?.parameterType(key) == "string" ? JSONRendering.quoted(raw) : Self.typedValue(raw)
            count += 1
            rest = rest[valueClose.upperBound...]
        }
        return ParsedToolCall(name: String(name), arguments: arguments + "}")
    }

    /// The JSON text for an untyped argument value.
    static func typedValue(_ raw: String) -> String {
        if let value = PartialJSON.parseComplete(raw) { return value.rendered }
        // Escaped JSON (`{\"a\": 1}`): unescape it as the inside of a JSON string, then parse.
        if case .string(let unescaped, true)? = PartialJSON.parseComplete("\"" + raw + "\""),
           let value = PartialJSON.parseComplete(unescaped) {
            return value.rendered
        }
        switch raw {
        case "True": return "true"
        case "False": return "false"
        case "None": return "null"
        default: return JSONRendering.quoted(raw)
        }
    }

    // MARK: Streaming

    public mutating func extractStreaming(delta: String) -> ToolStreamDelta? {
        held += delta
        return drain(final: false)
    }

    public mutating func finish() -> ToolStreamDelta? {
        drain(final: true)
    }

    private mutating func drain(final: Bool) -> ToolStreamDelta? {
        var content = ""
        var calls: [ToolCallDelta] = []
        while true {
            if malformed {
                content += held
                held = ""
                break
            } else if !inCall {
                if let open = TagScanning.find(Self.openTag, in: held) {
                    if callsSent == 0 { content += held[..<open.lowerBound] }
                    held = String(held[open.lowerBound...])  // keep the tag: the call is parsed whole
                    inCall = true
                } else {
                    let (emit, hold) = final ? (held[...], held[held.endIndex...]) : TagScanning.splitHeldBack(held[...], tag: Self.openTag)
                    if callsSent == 0 { content += emit }
                    held = String(hold)
                    break
                }
            } else {
                let afterOpen = held.utf8.index(held.startIndex, offsetBy: Self.openTag.utf8.count)
                if let close = TagScanning.find(Self.closeTag, in: held[afterOpen...]) {
                    guard let call = parseCall(held[afterOpen..<close.lowerBound]) else {
                        // Not a call: what `extract` does with the whole output, here for the rest.
                        malformed = true
                        continue
                    }
                    calls.append(ToolCallDelta(index: callsSent, id: call.id, name: call.name, argumentsDelta: call.arguments))
                    callsSent += 1
                    held = String(held[close.upperBound...])
                    inCall = false
                } else {
                    if final {
                        // An unclosed call is no call: content only if no call came before it.
                        if callsSent == 0 { content += held }
                        held = ""
                    }
                    break
                }
            }
        }
        return ToolStreamDelta.make(content: content, toolCalls: calls)
    }
}

extension Substring {
    func trimmingWhitespace() -> Substring {
        var s = self
        while let c = s.first, c.isWhitespace { s = s.dropFirst() }
        while let c = s.last, c.isWhitespace { s = s.dropLast() }
        return s
    }
}
