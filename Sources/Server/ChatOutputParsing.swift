import Foundation

/// Splits one chat choice's output into reasoning, content and tool calls, whole or as stream
/// deltas. Reasoning comes first; the tool parser sees only content, after reasoning ended.
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
        /// The request's tools (GLM-4.5 types arguments by their schema).
        var tools: [ToolDefinition] = []
    }

    let options: Options
    private(set) var sawToolCall = false
    private var reasoning: (any ReasoningParser)?
    private var tools: (any ToolParser)?

    /// Throws for a parser name no registry knows (the server checks names at start-up).
    init(options: Options) throws {
        self.options = options
        reasoning = try options.reasoningParser.map {
            try ReasoningParsers.make($0, promptOpensThinking: options.promptOpensThinking,
                                      thinkingDisabled: options.thinkingDisabled)
        }
        tools = options.toolsEnabled ? try options.toolParser.map { try ToolParsers.make($0, tools: options.tools) } : nil
    }

    /// The whole output: (reasoning, content, tool calls).
    func parse(_ output: String) -> (reasoning: String?, content: String?, toolCalls: [ToolCall]) {
        let (thinking, content) = reasoning?.extract(output) ?? (nil, output)
        guard let tools, let content else { return (thinking, content, []) }
        let parsed = tools.extract(content)
        let calls = parsed.toolCalls.map {
            ToolCall(id: $0.id, type: "function", function: ToolCallFunction(name: $0.name, arguments: $0.arguments))
        }
        return (thinking, parsed.content, calls)
    }

    /// One stream step: the new text → what to send, or nil to send nothing yet. `final` flushes
    /// what the parsers held back as a possible tag.
    mutating func delta(_ newText: String, tokenIds: [Int], final: Bool = false) -> DeltaMessage? {
        var thinking = "", content = ""
        if var parser = reasoning {
            for piece in [parser.extractStreaming(delta: newText), final ? parser.finish() : nil] {
                thinking += piece?.reasoning ?? ""
                content += piece?.content ?? ""
            }
            reasoning = parser
        } else {
            content = newText
        }
        var calls: [ToolCall] = []
        if var parser = tools, !content.isEmpty || final {
            var passed = ""
            for piece in [content.isEmpty ? nil : parser.extractStreaming(delta: content), final ? parser.finish() : nil] {
                passed += piece?.content ?? ""
                calls += (piece?.toolCalls ?? []).map {
                    ToolCall(index: $0.index, id: $0.id, type: $0.id == nil ? nil : "function",
                             function: ToolCallFunction(name: $0.name, arguments: $0.argumentsDelta))
                }
            }
            content = passed
            tools = parser
            if !calls.isEmpty { sawToolCall = true }
        }
        if thinking.isEmpty && content.isEmpty && calls.isEmpty { return nil }
        return DeltaMessage(content: content.isEmpty ? nil : content, reasoningContent: thinking.isEmpty ? nil : thinking,
                            toolCalls: calls.isEmpty ? nil : calls)
    }
}
