import Foundation

/// Splits one chat choice's output into reasoning, content and tool calls, whole or as stream
/// deltas. Reasoning comes first; the tool parser sees only content, after reasoning ended.
///
/// The parsers themselves live in `Reasoning/` and `ToolParsers/`. Until they land this passes
/// the text through as content; the marked lines are where they plug in.
struct ChatOutputParsing {
    struct Options: Sendable {
        var reasoningParser: String?
        var toolParser: String?
        /// The prompt ends inside an opened `<think>` block (DeepSeek-R1, Qwen3 thinking templates).
        var promptOpensThinking = false
        /// `chat_template_kwargs.enable_thinking == false`.
        var thinkingDisabled = false
        /// Tools were given and `tool_choice` is not "none".
        var toolsEnabled = false
    }

    let options: Options
    /// Text of this choice so far (what parsers call `previous_text`).
    private(set) var text = ""
    private(set) var sawToolCall = false

    // PLUG-IN (reasoning): var reasoning = options.reasoningParser.map {
    //     ReasoningParsers.make($0, promptOpensThinking: options.promptOpensThinking, thinkingDisabled: options.thinkingDisabled) }
    // PLUG-IN (tools): var tools = options.toolsEnabled ? options.toolParser.map { ToolParsers.make($0) } : nil

    init(options: Options) { self.options = options }

    /// The whole output: (reasoning, content, tool calls).
    func parse(_ output: String) -> (reasoning: String?, content: String?, toolCalls: [ToolCall]) {
        // PLUG-IN: let (reasoning, content) = reasoning?.extract(output) ?? (nil, output)
        let reasoning: String? = nil
        let content: String? = output
        // PLUG-IN: if let tools, let content { let r = tools.extract(content); return (reasoning, r.content, r.toolCalls) }
        return (reasoning, content, [])
    }

    /// One stream step: the new text and token ids → what to send, or nil to send nothing yet.
    mutating func delta(_ newText: String, tokenIds: [Int]) -> DeltaMessage? {
        let previous = text
        text += newText
        _ = previous
        // PLUG-IN: var message = reasoning?.extractStreaming(previous: previous, current: text, delta: newText, deltaTokenIds: tokenIds)
        //              ?? DeltaMessage(content: newText)
        // PLUG-IN: if let tools, let content = message.content, reasoning ended {
        //              message = tools.extractStreaming(previous:…, current:…, delta: content, …); sawToolCall = sawToolCall || message.toolCalls != nil }
        if newText.isEmpty { return nil }
        return DeltaMessage(content: newText)
    }
}
