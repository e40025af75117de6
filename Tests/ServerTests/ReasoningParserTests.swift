import Engine
import Server
import Testing

/// Ways to cut a model's output into stream deltas: at every Unicode scalar boundary (in two),
/// one scalar per delta, and random multi-character chunks (seeded, so failures reproduce).
enum StreamSplits {
    static func all(_ text: String, randomRuns: Int = 30) -> [[String]] {
        let scalars = Array(text.unicodeScalars)
        func piece(_ range: Range<Int>) -> String {
            var s = String.UnicodeScalarView()
            s.append(contentsOf: scalars[range])
            return String(s)
        }
        var result: [[String]] = [[text]]
        for cut in 1..<max(1, scalars.count) {
            result.append([piece(0..<cut), piece(cut..<scalars.count)])
        }
        result.append(scalars.indices.map { piece($0..<$0 + 1) })
        var rng = SplitMix64(seed: UInt64(scalars.count))
        for _ in 0..<randomRuns {
            var pieces: [String] = []
            var start = 0
            while start < scalars.count {
                let length = Int.random(in: 1...8, using: &rng)
                let end = min(scalars.count, start + length)
                pieces.append(piece(start..<end))
                start = end
            }
            result.append(pieces)
        }
        return result
    }
}

private func orNil(_ s: String) -> String? { s.isEmpty ? nil : s }

/// Feeds `deltas` to a fresh parser and accumulates what it streams.
private func streamed(_ name: String, _ deltas: [String], promptOpensThinking: Bool = false, thinkingDisabled: Bool = false) throws -> (reasoning: String?, content: String?) {
    var parser = try ReasoningParsers.make(name, promptOpensThinking: promptOpensThinking, thinkingDisabled: thinkingDisabled)
    var reasoning = ""
    var content = ""
    func take(_ delta: ReasoningDelta?) {
        guard let delta else { return }
        #expect(delta.reasoning != "" && delta.content != "", "a delta never carries an empty string")
        #expect(delta.reasoning != nil || delta.content != nil, "an empty delta is nil")
        reasoning += delta.reasoning ?? ""
        content += delta.content ?? ""
    }
    for delta in deltas { take(parser.extractStreaming(delta: delta)) }
    take(parser.finish())
    return (orNil(reasoning), orNil(content))
}

/// Checks the whole-output result, then that every way of streaming the output adds up to it.
private func check(_ name: String, _ output: String, reasoning: String?, content: String?, promptOpensThinking: Bool = false, thinkingDisabled: Bool = false, sourceLocation: SourceLocation = #_sourceLocation) throws {
    let parser = try ReasoningParsers.make(name, promptOpensThinking: promptOpensThinking, thinkingDisabled: thinkingDisabled)
    let whole = parser.extract(output)
    #expect(whole.reasoning == reasoning, "reasoning", sourceLocation: sourceLocation)
    #expect(whole.content == content, "content", sourceLocation: sourceLocation)
    for deltas in StreamSplits.all(output) {
        let s = try streamed(name, deltas, promptOpensThinking: promptOpensThinking, thinkingDisabled: thinkingDisabled)
        if s.reasoning != reasoning || s.content != content {
            Issue.record("streamed \(deltas) gave \(s)", sourceLocation: sourceLocation)
            return
        }
    }
}

// Recorded outputs, written in each model's real format.

/// Qwen3-8B with thinking on: the template leaves `<think>` to the model.
private let qwen3Output = """
<think>
Okay, the user asks for 17 × 23. Let me compute: 17 × 20 = 340, 17 × 3 = 51, so 340 + 51 = 391. \
Double-check with 23 × 17 = 230 + 161 = 391. Yes.
</think>

17 × 23 = **391**.
"""

/// Qwen3-4B-Thinking-2507 and DeepSeek-R1-Distill: the template ends with `<think>\n`, the output
/// starts inside the reasoning.
private let r1Output = """
Okay, so I need to find the derivative of x² · sin(x). The product rule says (uv)' = u'v + uv'.

Here u = x², u' = 2x; v = sin x, v' = cos x. So it's 2x·sin x + x²·cos x. Let me make sure I \
don't write "</thinking>" or similar by mistake — fine.
</think>

The derivative is \\( 2x\\sin x + x^2\\cos x \\).
"""

/// GLM-4.5 writes `<think>` itself and closes it without whitespace.
private let glmOutput = "<think>用户想知道北京的天气。我应该调用 get_weather 工具，city 参数为“北京”。</think>\n我来帮你查询北京今天的天气。"

@Suite struct ReasoningParserTests {
    @Test func registryNamesAndUnknownName() throws {
        #expect(ReasoningParsers.names == ["deepseek_r1", "glm45", "qwen3"])
        for name in ReasoningParsers.names { _ = try ReasoningParsers.make(name, promptOpensThinking: false, thinkingDisabled: false) }
        #expect(throws: ReasoningParserError.unknownParser("granite")) { try ReasoningParsers.make("granite") }
        #expect("\(ReasoningParserError.unknownParser("x"))".contains("deepseek_r1, glm45, qwen3"))
    }

    @Test func qwen3ThinkingOutput() throws {
        try check("qwen3", qwen3Output,
                  reasoning: "\nOkay, the user asks for 17 × 23. Let me compute: 17 × 20 = 340, 17 × 3 = 51, so 340 + 51 = 391. Double-check with 23 × 17 = 230 + 161 = 391. Yes.\n",
                  content: "\n\n17 × 23 = **391**.")
    }

    @Test func deepSeekR1PromptOpensThinking() throws {
        let reasoning = """
        Okay, so I need to find the derivative of x² · sin(x). The product rule says (uv)' = u'v + uv'.

        Here u = x², u' = 2x; v = sin x, v' = cos x. So it's 2x·sin x + x²·cos x. Let me make sure I \
        don't write "</thinking>" or similar by mistake — fine.

        """
        let content = "\n\nThe derivative is \\( 2x\\sin x + x^2\\cos x \\)."
        try check("deepseek_r1", r1Output, reasoning: reasoning, content: content, promptOpensThinking: true)
        // The same without the flag: DeepSeek-R1 and Qwen3 are thinking from the first token.
        try check("deepseek_r1", r1Output, reasoning: reasoning, content: content)
        try check("qwen3", r1Output, reasoning: reasoning, content: content, promptOpensThinking: true)
    }

    @Test func glm45Output() throws {
        try check("glm45", glmOutput,
                  reasoning: "用户想知道北京的天气。我应该调用 get_weather 工具，city 参数为“北京”。",
                  content: "\n我来帮你查询北京今天的天气。")
    }

    @Test func glm45WithoutThinkTagIsContent() throws {
        // GLM-4.5 answered without thinking: no `<think>`, so nothing is reasoning…
        try check("glm45", "北京今天晴，最高 25°C。", reasoning: nil, content: "北京今天晴，最高 25°C。")
        try check("glm45", "  <thin", reasoning: nil, content: "  <thin")
        // …unless the prompt opened the block.
        try check("glm45", "先想一想。</think>答案是 42。", reasoning: "先想一想。", content: "答案是 42。", promptOpensThinking: true)
    }

    @Test func missingEndTagMeansAllReasoning() throws {
        // Stopped at max_tokens inside the thinking block.
        let truncated = "<think>\nLet me think about this carefully. First, the</th"
        try check("deepseek_r1", truncated, reasoning: "\nLet me think about this carefully. First, the</th", content: nil)
        try check("qwen3", truncated, reasoning: "\nLet me think about this carefully. First, the</th", content: nil)
        try check("glm45", truncated, reasoning: "\nLet me think about this carefully. First, the</th", content: nil)
        try check("qwen3", "Still thinking, no tags at all", reasoning: "Still thinking, no tags at all", content: nil, promptOpensThinking: true)
    }

    @Test func thinkingDisabledMeansAllContent() throws {
        // `enable_thinking: false`: the prompt ends with `<think>\n\n</think>\n\n`.
        for name in ReasoningParsers.names {
            try check(name, "Paris is the capital of France.", reasoning: nil, content: "Paris is the capital of France.", thinkingDisabled: true)
            // Even tags the model writes anyway stay content.
            try check(name, "<think>x</think>y", reasoning: nil, content: "<think>x</think>y", thinkingDisabled: true)
        }
        let parser = try ReasoningParsers.make("qwen3", promptOpensThinking: false, thinkingDisabled: true)
        #expect(parser.isReasoningEnd(""))
        #expect(parser.reasoningEnded)
    }

    @Test func deltaThatIsOnlyATagEmitsNothing() throws {
        var parser = try ReasoningParsers.make("qwen3")
        #expect(parser.extractStreaming(delta: "<think>") == nil)
        #expect(parser.extractStreaming(delta: "\n") == ReasoningDelta(reasoning: "\n"))
        #expect(parser.extractStreaming(delta: "Hmm") == ReasoningDelta(reasoning: "Hmm"))
        #expect(parser.extractStreaming(delta: "</think>") == nil)
        #expect(parser.reasoningEnded)
        #expect(parser.extractStreaming(delta: "\n\nHi") == ReasoningDelta(content: "\n\nHi"))
        #expect(parser.finish() == nil)

        var r1 = try ReasoningParsers.make("deepseek_r1", promptOpensThinking: true)
        #expect(r1.extractStreaming(delta: "Hmm") == ReasoningDelta(reasoning: "Hmm"))
        #expect(r1.extractStreaming(delta: "</think>") == nil)
        #expect(r1.extractStreaming(delta: "ok") == ReasoningDelta(content: "ok"))
    }

    @Test func endTagInsideOneDeltaSplitsIt() throws {
        var parser = try ReasoningParsers.make("deepseek_r1", promptOpensThinking: true)
        #expect(parser.extractStreaming(delta: "done.</think>\n\nAnswer") == ReasoningDelta(reasoning: "done.", content: "\n\nAnswer"))
        var glm = try ReasoningParsers.make("glm45")
        #expect(glm.extractStreaming(delta: "<think>a</think>b") == ReasoningDelta(reasoning: "a", content: "b"))
    }

    @Test func tagSplitAcrossDeltasIsHeldBack() throws {
        var parser = try ReasoningParsers.make("qwen3", promptOpensThinking: true)
        #expect(parser.extractStreaming(delta: "so 391.</th") == ReasoningDelta(reasoning: "so 391."))
        #expect(!parser.reasoningEnded)
        #expect(parser.extractStreaming(delta: "ink>\n\n391") == ReasoningDelta(content: "\n\n391"))
        // A held prefix that turns out not to be the tag is released as reasoning.
        var other = try ReasoningParsers.make("qwen3", promptOpensThinking: true)
        #expect(other.extractStreaming(delta: "a </") == ReasoningDelta(reasoning: "a "))
        #expect(other.extractStreaming(delta: "b> c") == ReasoningDelta(reasoning: "</b> c"))
        // The opening tag split too.
        var glm = try ReasoningParsers.make("glm45")
        #expect(glm.extractStreaming(delta: "<thi") == nil)
        #expect(glm.extractStreaming(delta: "nk>想") == ReasoningDelta(reasoning: "想"))
    }

    @Test func heldBackTextIsFlushedAtTheEnd() throws {
        var parser = try ReasoningParsers.make("deepseek_r1", promptOpensThinking: true)
        #expect(parser.extractStreaming(delta: "x <") == ReasoningDelta(reasoning: "x "))
        #expect(parser.finish() == ReasoningDelta(reasoning: "<"))
        var glm = try ReasoningParsers.make("glm45")
        #expect(glm.extractStreaming(delta: "<th") == nil)
        #expect(glm.finish() == ReasoningDelta(content: "<th"))
    }

    @Test func whitespaceAfterEndTagStaysInContent() throws {
        try check("qwen3", "<think>\n\n</think>\n\nHello!", reasoning: "\n\n", content: "\n\nHello!")
        try check("qwen3", "<think>r</think>", reasoning: "r", content: nil)
        try check("deepseek_r1", "</think>", reasoning: nil, content: nil)
        try check("qwen3", "", reasoning: nil, content: nil)
    }

    @Test func thinkTagAfterTheStartIsText() throws {
        try check("deepseek_r1", "I'd write <think> here.</think>ok", reasoning: "I'd write <think> here.", content: "ok")
        try check("qwen3", "<think>a</think>b <think>c</think>", reasoning: "a", content: "b <think>c</think>")
    }

    @Test func isReasoningEnd() throws {
        let qwen = try ReasoningParsers.make("qwen3")
        #expect(!qwen.isReasoningEnd("<think>\nhmm"))
        #expect(qwen.isReasoningEnd("<think>\nhmm</think>\n\n"))
        #expect(!qwen.isReasoningEnd("  <thi"))
        let glm = try ReasoningParsers.make("glm45")
        #expect(glm.isReasoningEnd("Hello"), "GLM without <think> answers directly")
        #expect(!glm.isReasoningEnd("<think>想"))
        #expect(!glm.isReasoningEnd(""))
        let r1 = try ReasoningParsers.make("deepseek_r1", promptOpensThinking: true)
        #expect(!r1.isReasoningEnd("Okay"))
        #expect(r1.isReasoningEnd("Okay</think>"))
    }

    @Test func vllmShapedStreamingEntryPoint() throws {
        var parser = try ReasoningParsers.make("deepseek_r1")
        #expect(parser.extractStreaming(previousText: "", currentText: "Hi", delta: "Hi") == ReasoningDelta(reasoning: "Hi"))
    }
}
