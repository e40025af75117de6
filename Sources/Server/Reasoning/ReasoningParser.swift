/// What one streamed chunk of model output adds to a chat message: reasoning text, answer text,
/// or both (the chunk that carries `</think>`).
public struct ReasoningDelta: Sendable, Equatable {
    public var reasoning: String?
    public var content: String?

    public init(reasoning: String? = nil, content: String? = nil) {
        self.reasoning = reasoning
        self.content = content
    }

    /// nil when both parts are empty, so callers never send an empty chunk.
    static func make(reasoning: String, content: String) -> ReasoningDelta? {
        if reasoning.isEmpty && content.isEmpty { return nil }
        return ReasoningDelta(reasoning: reasoning.isEmpty ? nil : reasoning, content: content.isEmpty ? nil : content)
    }
}

/// Splits a model's output into its thinking (`reasoning_content`) and its answer (`content`).
///
/// A parser is a per-request value: make one with `ReasoningParsers.make` for each request, feed
/// it the whole output (`extract`) or the stream of text deltas (`extractStreaming`, then
/// `finish` when generation ends). Accumulating every streamed delta gives exactly what
/// `extract` returns for the whole text, whatever the split.
public protocol ReasoningParser: Sendable {
    /// Whole output → (reasoning, content); an empty part is nil.
    func extract(_ text: String) -> (reasoning: String?, content: String?)

    /// Streaming: the next piece of generated text → what to send now, or nil when nothing is
    /// to be emitted yet (a lone `<think>` / `</think>`, or a possible tag prefix held back).
    mutating func extractStreaming(delta: String) -> ReasoningDelta?

    /// End of generation: flushes text held back as a possible tag prefix.
    mutating func finish() -> ReasoningDelta?

    /// Whether reasoning has ended in `text` (the whole output so far), so that the tool parser
    /// may start reading content.
    func isReasoningEnd(_ text: String) -> Bool

    /// Whether the text streamed so far has ended reasoning (the streaming twin of `isReasoningEnd`).
    var reasoningEnded: Bool { get }
}

extension ReasoningParser {
    /// vLLM-shaped entry point; the parser keeps its own state, so only `delta` is read.
    public mutating func extractStreaming(previousText: String, currentText: String, delta: String) -> ReasoningDelta? {
        extractStreaming(delta: delta)
    }
}

public enum ReasoningParserError: Error, Equatable, CustomStringConvertible {
    case unknownParser(String)

    public var description: String {
        switch self {
        case .unknownParser(let name):
            "unknown reasoning parser '\(name)'; available: \(ReasoningParsers.names.joined(separator: ", "))"
        }
    }
}

/// The reasoning parsers, keyed by the names `--reasoning-parser` accepts (vLLM's names).
public enum ReasoningParsers {
    public static let names: [String] = ["deepseek_r1", "glm45", "qwen3"]

    /// - Parameters:
    ///   - promptOpensThinking: the rendered prompt ends inside an open `<think>` block
    ///     (DeepSeek-R1 distill templates, Qwen3 thinking templates ending in `<think>\n`).
    ///   - thinkingDisabled: the request turned thinking off (`enable_thinking: false`), so the
    ///     prompt already closed the block and everything generated is content.
    public static func make(_ name: String, promptOpensThinking: Bool = false, thinkingDisabled: Bool = false) throws -> any ReasoningParser {
        let style: ThinkReasoningParser.Style
        switch name {
        case "deepseek_r1": style = .deepSeekR1
        case "qwen3": style = .qwen3
        case "glm45": style = .glm45
        default: throw ReasoningParserError.unknownParser(name)
        }
        return ThinkReasoningParser(style: style, promptOpensThinking: promptOpensThinking, thinkingDisabled: thinkingDisabled)
    }
}
