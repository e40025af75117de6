/// The `<think>…</think>` reasoning parser behind `deepseek_r1`, `qwen3` and `glm45`.
///
/// Rules (vLLM's, made exact at every edge):
/// - With thinking disabled (`enable_thinking: false`) the prompt already closed the block:
///   everything generated is content.
/// - An opening `<think>` at the start of the output (after optional whitespace) is dropped; a
///   `<think>` anywhere else is ordinary text.
/// - Without that opening tag, DeepSeek-R1 and Qwen3 are already thinking (their templates put
///   `<think>\n` in the prompt, or the model skips the tag): text is reasoning until `</think>`.
///   GLM-4.5 writes `<think>` itself, so without it (and without `promptOpensThinking`) its output
///   is all content.
/// - Reasoning runs to the first `</think>`; the rest, whitespace included (Qwen3 writes
///   `</think>\n\n`), is content. No `</think>` (stopped at `max_tokens`): all reasoning.
/// - Streaming holds back a possible tag prefix (`</th`) until the next delta decides it, so a
///   tag split across deltas never leaks, and a delta that is only a tag emits nothing.
public struct ThinkReasoningParser: ReasoningParser {
    public enum Style: Sendable {
        case deepSeekR1, qwen3, glm45
    }

    static let startTag = "<think>"
    static let endTag = "</think>"

    public let style: Style
    public let promptOpensThinking: Bool
    public let thinkingDisabled: Bool

    private enum Phase { case opening, reasoning, content }
    private var phase: Phase
    /// Streamed text not yet emitted: a possible tag prefix, or leading text before the opening
    /// tag is decided.
    private var held = ""

    public init(style: Style, promptOpensThinking: Bool = false, thinkingDisabled: Bool = false) {
        self.style = style
        self.promptOpensThinking = promptOpensThinking
        self.thinkingDisabled = thinkingDisabled
        self.phase = thinkingDisabled ? .content : .opening
    }

    /// Whether output that does not open with `<think>` is reasoning.
    private var thinksWithoutTag: Bool { style != .glm45 || promptOpensThinking }

    public var reasoningEnded: Bool { phase == .content }

    public func extract(_ text: String) -> (reasoning: String?, content: String?) {
        if thinkingDisabled { return (nil, text.nonEmpty) }
        var rest = text[...]
        let trimmed = TagScanning.trimmingLeadingWhitespace(rest)
        if trimmed.hasPrefix(Self.startTag) {
            rest = trimmed.dropFirst(Self.startTag.count)
        } else if !thinksWithoutTag {
            return (nil, text.nonEmpty)
        }
        guard let end = TagScanning.find(Self.endTag, in: rest) else { return (rest.nonEmpty, nil) }
        return (rest[..<end.lowerBound].nonEmpty, rest[end.upperBound...].nonEmpty)
    }

    public func isReasoningEnd(_ text: String) -> Bool {
        if thinkingDisabled { return true }
        var rest = text[...]
        let trimmed = TagScanning.trimmingLeadingWhitespace(rest)
        if trimmed.hasPrefix(Self.startTag) {
            rest = trimmed.dropFirst(Self.startTag.count)
        } else if Self.startTag.hasPrefix(trimmed) {
            return false  // the opening tag may still come
        } else if !thinksWithoutTag {
            return true
        }
        return TagScanning.find(Self.endTag, in: rest) != nil
    }

    public mutating func extractStreaming(delta: String) -> ReasoningDelta? {
        held += delta
        return drain(final: false)
    }

    public mutating func finish() -> ReasoningDelta? {
        drain(final: true)
    }

    private mutating func drain(final: Bool) -> ReasoningDelta? {
        var reasoning = ""
        var content = ""
        loop: while true {
            switch phase {
            case .opening:
                let trimmed = TagScanning.trimmingLeadingWhitespace(held[...])
                if trimmed.hasPrefix(Self.startTag) {
                    held = String(trimmed.dropFirst(Self.startTag.count))
                    phase = .reasoning
                } else if !final && Self.startTag.hasPrefix(trimmed) {
                    break loop  // whitespace or `<thi` so far: wait for the next delta
                } else {
                    phase = thinksWithoutTag ? .reasoning : .content
                }
            case .reasoning:
                if let end = TagScanning.find(Self.endTag, in: held) {
                    reasoning += held[..<end.lowerBound]
                    held = String(held[end.upperBound...])
                    phase = .content
                } else if final {
                    reasoning += held
                    held = ""
                    break loop
                } else {
                    let (emit, hold) = TagScanning.splitHeldBack(held[...], tag: Self.endTag)
                    reasoning += emit
                    held = String(hold)
                    break loop
                }
            case .content:
                content += held
                held = ""
                break loop
            }
        }
        return ReasoningDelta.make(reasoning: reasoning, content: content)
    }
}
