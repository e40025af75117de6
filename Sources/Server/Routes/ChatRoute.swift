import Engine
import Foundation
import Hummingbird

extension OpenAIServer {
    /// `POST /v1/chat/completions`.
    func chatCompletions(_ request: ChatCompletionRequest) async throws -> Response {
        try checkModel(request.model)
        try request.validate()
        if request.chatTemplate != nil {
            throw APIError.badRequest("A chat_template in the request is not accepted; start the server with --chat-template.", param: "chat_template")
        }
        let toolsGiven = !(request.tools ?? []).isEmpty
        let toolChoice = request.toolChoice?.string ?? (toolsGiven ? "auto" : "none")
        if toolsGiven, toolChoice == "auto", !(config.enableAutoToolChoice && config.toolCallParser != nil) {
            throw APIError.badRequest("\"auto\" tool choice requires --enable-auto-tool-choice and --tool-call-parser to be set", param: "tool_choice")
        }
        let continueFinal = request.continueFinalMessage ?? false
        let prompt = try renderChat(messages: request.messages, tools: request.tools, kwargs: request.chatTemplateKwargs,
                                    addGenerationPrompt: request.addGenerationPrompt ?? true, continueFinalMessage: continueFinal)
        let promptIds = loaded.encode(prompt, addSpecialTokens: request.addSpecialTokens ?? false)
        if promptIds.isEmpty { throw APIError.badRequest("The rendered prompt is empty.", param: "messages") }
        let fields = request.sampling
        let wantLogprobs = request.logprobs ?? false
        let topLogprobs = request.topLogprobs ?? 0
        let params = try makeParams(fields, maxTokens: request.maxCompletionTokens ?? request.maxTokens, defaultMaxTokens: nil,
                                    logprobs: wantLogprobs ? topLogprobs : nil, promptTokens: promptIds.count)

        // `enable_thinking: false` only counts when the template obeyed it: a template that ignores
        // it (DeepSeek-R1's) still opens `<think>`, and the model thinks.
        let promptOpensThinking = Self.promptOpensThinking(prompt)
        let thinkingDisabled: Bool = if case .bool(false) = request.chatTemplateKwargs?["enable_thinking"] { !promptOpensThinking } else { false }
        let parsing = ChatOutputParsing.Options(
            reasoningParser: config.reasoningParser, toolParser: config.toolCallParser,
            promptOpensThinking: promptOpensThinking, thinkingDisabled: thinkingDisabled,
            toolsEnabled: toolsGiven && toolChoice != "none",
            tools: (request.tools ?? []).compactMap { tool -> ToolDefinition? in
                guard let function = tool["function"], let name = function["name"]?.string else { return nil }
                let properties = function["parameters"]?["properties"]?.object ?? [:]
                return ToolDefinition(name: name, parameterTypes: properties.compactMapValues { $0["type"]?.string })
            })
        // `echo` repeats the final message when it is the assistant's (vLLM).
        let echoText: String? = (fields.echo ?? false) && request.messages.last?.role == "assistant"
            ? request.messages.last?.content ?? "" : nil

        let id = Self.newId("chatcmpl-")
        let created = Self.now
        let model = modelName
        let inFlight = InFlightRequests(engine: engine, ids: [id])
        let stream = engine.generate(.tokens(promptIds), params: params, requestId: id,
                                     kind: fields.isStream ? .delta : .finalOnly)

        if !fields.isStream {
            var final: RequestOutput?
            do {
                for try await output in stream { final = output }
            } catch {
                inFlight.abortRemaining()
                throw error
            }
            inFlight.finished(id)
            guard let final else { throw APIError(.internalServerError, "the engine ended the request without output") }
            let completionTokens = final.outputs.reduce(0) { $0 + $1.tokenIds.count }
            record(final, promptTokens: promptIds.count, outputTokens: completionTokens)
            let choices = try final.outputs.map { completion -> ChatChoice in
                let parser = try ChatOutputParsing(options: parsing)
                let (reasoning, content, toolCalls) = parser.parse(completion.text)
                let calls = toolCalls.map {
                    ToolCall(id: $0.id ?? Self.newId("chatcmpl-tool-"), type: "function", function: $0.function)
                }
                var finish = completion.finishReason?.rawValue
                if !calls.isEmpty, finish == "stop" { finish = "tool_calls" }
                return ChatChoice(index: completion.index,
                                  // null, not "", when the parsers found no answer text (all
                                  // reasoning, or only tool calls), as vLLM sends it.
                                  message: ChatResponseMessage(content: echoText.map { $0 + (content ?? "") } ?? content,
                                                               reasoningContent: reasoning,
                                                               toolCalls: calls),
                                  logprobs: wantLogprobs ? ChatLogprobs(completion.logprobs ?? [], top: topLogprobs) : nil,
                                  finishReason: finish, stopReason: StopReasonValue(completion.stopReason))
            }
            return try JSON.response(ChatCompletionResponse(id: id, created: created, model: model, choices: choices,
                                                            usage: UsageInfo(promptTokens: promptIds.count, completionTokens: completionTokens)))
        }

        let n = params.n
        let includeUsage = fields.includeUsage
        return JSON.eventStream(aborting: inFlight) { writer in
            func send(_ index: Int, _ delta: DeltaMessage, logprobs: ChatLogprobs? = nil, finish: String? = nil,
                      stop: StopReasonValue? = nil) async throws {
                let chunk = ChatCompletionChunk(id: id, created: created, model: model, choices: [
                    ChatChunkChoice(index: index, delta: delta, logprobs: logprobs, finishReason: finish, stopReason: stop)])
                try await writer.write(JSON.event(chunk))
            }
            var parsers = try (0..<n).map { _ in try ChatOutputParsing(options: parsing) }
            var completionTokens = 0
            var done = Set<Int>()
            // The role first, then the echoed text, for every choice (vLLM's order).
            for i in 0..<n { try await send(i, DeltaMessage(role: "assistant", content: "")) }
            if let echoText, !echoText.isEmpty { for i in 0..<n { try await send(i, DeltaMessage(content: echoText)) } }
            for try await output in stream {
                for completion in output.outputs where !done.contains(completion.index) {
                    completionTokens += completion.tokenIds.count
                    let i = completion.index
                    var delta = parsers[i].delta(completion.text, tokenIds: completion.tokenIds,
                                                 final: completion.finishReason != nil)
                    let logprobs = wantLogprobs ? ChatLogprobs(completion.logprobs ?? [], top: topLogprobs) : nil
                    if let finish = completion.finishReason {
                        done.insert(i)
                        let reason = parsers[i].sawToolCall && finish == .stop ? "tool_calls" : finish.rawValue
                        try await send(i, delta ?? DeltaMessage(content: ""), logprobs: logprobs, finish: reason,
                                       stop: StopReasonValue(completion.stopReason))
                    } else if delta != nil || (logprobs?.content.isEmpty == false) {
                        if delta == nil { delta = DeltaMessage(content: "") }
                        try await send(i, delta!, logprobs: logprobs)
                    }
                }
                if output.finished {
                    inFlight.finished(id)
                    self.record(output, promptTokens: promptIds.count, outputTokens: completionTokens)
                }
            }
            if includeUsage {
                try await writer.write(JSON.event(ChatCompletionChunk(id: id, created: created, model: model, choices: [],
                    usage: UsageInfo(promptTokens: promptIds.count, completionTokens: completionTokens))))
            }
        }
    }

    /// True when the rendered prompt ends inside an opened `<think>` block.
    public static func promptOpensThinking(_ prompt: String) -> Bool {
        guard let open = prompt.range(of: "<think>", options: .backwards) else { return false }
        return prompt.range(of: "</think>", range: open.upperBound..<prompt.endIndex) == nil
    }
}
