/// Qwen's (Hermes-style) tool calls: `<tool_call>\n{"name": …, "arguments": {…}}\n</tool_call>`,
/// possibly several, the last possibly unclosed (the model stopped at EOS or `max_tokens`).
///
/// Streaming sends a call's id and name once its `"name"` string is complete, then its
/// arguments as they grow: each delta extends the rendering of the arguments parsed so far
/// (see `PartialJSON.render`), so the deltas add up to the final arguments string. A tag split
/// across deltas (`<tool_` + `call>`) is held back until it is decided.
public struct HermesToolParser: ToolParser {
    static let openTag = "<tool_call>"
    static let closeTag = "</tool_call>"

    private enum Phase { case content, call, malformed }
    private var phase = Phase.content
    /// Streamed text not yet consumed (a possible tag prefix).
    private var held = ""
    /// Whether a tool call has started: later text outside calls is dropped.
    private var sawCall = false
    /// The current call's text after `<tool_call>`.
    private var body = ""
    private var index = -1
    private var nameSent = false
    private var argumentsSent = ""
    private var argumentsDone = false

    public init() {}

    // MARK: Whole output

    public func extract(_ text: String) -> (content: String?, toolCalls: [ParsedToolCall]) {
        guard let first = TagScanning.find(Self.openTag, in: text) else { return (text.nonEmpty, []) }
        var calls: [ParsedToolCall] = []
        var rest = text[first.upperBound...]
        while true {
            let body: Substring
            if let close = TagScanning.find(Self.closeTag, in: rest) {
                body = rest[..<close.lowerBound]
                rest = rest[close.upperBound...]
            } else {
                body = rest
                rest = rest[rest.endIndex...]
            }
            guard let call = Self.parseCall(body) else { return (text.nonEmpty, []) }
            calls.append(call)
            guard let next = TagScanning.find(Self.openTag, in: rest) else { break }
            rest = rest[next.upperBound...]
        }
        return (text[..<first.lowerBound].nonEmpty, calls)
    }

    /// A complete `{"name": "…", "arguments": {…}}`; missing arguments read as `{}`.
    static func parseCall(_ body: Substring) -> ParsedToolCall? {
        guard let value = PartialJSON.parseComplete(body), case .object = value,
              case .some(.some(.string(let name, true))) = value.member("name") else { return nil }
        let arguments: String
        if case .some(.some(let args)) = value.member("arguments") { arguments = args.rendered } else { arguments = "{}" }
        return ParsedToolCall(name: name, arguments: arguments)
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
        loop: while true {
            switch phase {
            case .content:
                if let open = TagScanning.find(Self.openTag, in: held) {
                    if !sawCall { content += held[..<open.lowerBound] }
                    held = String(held[open.upperBound...])
                    startCall()
                } else if final {
                    if !sawCall { content += held }
                    held = ""
                    break loop
                } else {
                    let (emit, hold) = TagScanning.splitHeldBack(held[...], tag: Self.openTag)
                    if !sawCall { content += emit }
                    held = String(hold)
                    break loop
                }
            case .call:
                if let close = TagScanning.find(Self.closeTag, in: held) {
                    body += held[..<close.lowerBound]
                    held = String(held[close.upperBound...])
                    advanceCall(ended: true, closeTag: true, content: &content, calls: &calls)
                    if phase == .call { phase = .content }
                } else if final {
                    // An unclosed last call: the body is all there is (a held `</tool` is not JSON).
                    body += held
                    held = ""
                    advanceCall(ended: true, closeTag: false, content: &content, calls: &calls)
                    break loop
                } else {
                    let (emit, hold) = TagScanning.splitHeldBack(held[...], tag: Self.closeTag)
                    body += emit
                    held = String(hold)
                    advanceCall(ended: false, closeTag: false, content: &content, calls: &calls)
                    break loop
                }
            case .malformed:
                content += held
                held = ""
                break loop
            }
        }
        return ToolStreamDelta.make(content: content, toolCalls: calls)
    }

    private mutating func startCall() {
        phase = .call
        sawCall = true
        body = ""
        index += 1
        nameSent = false
        argumentsSent = ""
        argumentsDone = false
    }

    /// Sends what the call's text so far adds: its name once complete, then argument text.
    /// `ended`: no more text will come for this call.
    private mutating func advanceCall(ended: Bool, closeTag: Bool, content: inout String, calls: inout [ToolCallDelta]) {
        let parsedOrNil: PartialJSON?
        do { parsedOrNil = try PartialJSON.parse(body) } catch { return giveUp(closeTag: closeTag, content: &content) }
        guard let parsed = parsedOrNil else {
            if ended { giveUp(closeTag: closeTag, content: &content) }
            return
        }
        guard case .object = parsed else { return giveUp(closeTag: closeTag, content: &content) }
        var id: String?
        var name: String?
        if !nameSent {
            guard case .some(.some(.string(let n, true))) = parsed.member("name") else {
                if ended || parsed.isComplete { giveUp(closeTag: closeTag, content: &content) }
                return
            }
            nameSent = true
            id = makeToolCallID()
            name = n
        }
        var argumentsDelta: String?
        if !argumentsDone {
            let rendered: String
            if parsed.isComplete {
                if case .some(.some(let args)) = parsed.member("arguments") { rendered = args.rendered } else { rendered = "{}" }
                argumentsDone = true
            } else if case .some(.some(let args)) = parsed.member("arguments") {
                rendered = args.rendered
            } else {
                rendered = ""
            }
            if rendered.utf8.count > argumentsSent.utf8.count, rendered.utf8.starts(with: argumentsSent.utf8) {
                argumentsDelta = String(decoding: rendered.utf8.dropFirst(argumentsSent.utf8.count), as: UTF8.self)
                argumentsSent = rendered
            }
        }
        if id != nil || argumentsDelta != nil {
            calls.append(ToolCallDelta(index: index, id: id, name: name, argumentsDelta: argumentsDelta))
        }
        if ended && !parsed.isComplete { phase = .malformed }
    }

    /// The call's text is not a tool call after all: if nothing of it was sent, send it as
    /// content (as `extract` would); either way, the rest of the output is content.
    private mutating func giveUp(closeTag: Bool, content: inout String) {
        if !nameSent {
            content += Self.openTag + body + (closeTag ? Self.closeTag : "")
        }
        phase = .malformed
    }
}
