import Engine
import Foundation

extension OpenAIServer {
    func tokenize(_ request: TokenizeRequest) throws -> TokenizeResponse {
        try checkModel(request.model)
        let ids: [Int]
        if let messages = request.messages {
            if messages.isEmpty { throw APIError.badRequest("messages must contain at least one message.", param: "messages") }
            let text = try renderChat(messages: messages, tools: request.tools, kwargs: request.chatTemplateKwargs,
                                      addGenerationPrompt: request.addGenerationPrompt ?? true,
                                      continueFinalMessage: request.continueFinalMessage ?? false)
            ids = loaded.encode(text, addSpecialTokens: request.addSpecialTokens ?? false)
        } else if let prompt = request.prompt {
            ids = loaded.encode(prompt, addSpecialTokens: request.addSpecialTokens ?? true)
        } else {
            throw APIError.badRequest("Either 'prompt' or 'messages' is required.", param: "prompt")
        }
        let strs = (request.returnTokenStrs ?? false) ? ids.map { loaded.tokenizer.idToToken($0) ?? "" } : nil
        return TokenizeResponse(count: ids.count, maxModelLen: engine.maxModelLen, tokens: ids, tokenStrs: strs)
    }

    func detokenize(_ request: DetokenizeRequest) throws -> DetokenizeResponse {
        try checkModel(request.model)
        let vocab = loaded.model.config.vocabSize
        if let bad = request.tokens.first(where: { $0 < 0 || $0 >= vocab }) {
            throw APIError.badRequest("Token id \(bad) is out of vocabulary (vocab size \(vocab)).", param: "tokens")
        }
        return DetokenizeResponse(prompt: loaded.tokenizer.decode(request.tokens))
    }

    /// The prompt text for `messages`, with vLLM's `continue_final_message` (the final assistant
    /// message left open, as transformers does it: cut the render after that message's text).
    func renderChat(messages: [ChatMessage], tools: [JSONValue]?, kwargs: [String: JSONValue]?,
                    addGenerationPrompt: Bool, continueFinalMessage: Bool) throws -> String {
        let foundationMessages = messages.map { JSONValue.object($0.raw).foundation }
        var extra: [String: Any] = [:]
        for (key, value) in kwargs ?? [:] { extra[key] = value.foundation }
        let rendered: String
        do {
            rendered = try loaded.applyChatTemplate(messages: foundationMessages, tools: tools.map { JSONValue.array($0).foundation },
                                                    addGenerationPrompt: continueFinalMessage ? false : addGenerationPrompt, kwargs: extra)
        } catch let error as EngineError {
            throw APIError.badRequest(error.description)
        } catch {
            // Template errors (raise_exception, a role the template refuses) are the request's fault.
            throw APIError.badRequest("The chat template could not render these messages: \(error)", param: "messages")
        }
        guard continueFinalMessage, let final = messages.last?.content, !final.isEmpty else { return rendered }
        let trimmed = final.trimmingCharacters(in: .whitespacesAndNewlines)
        guard let range = rendered.range(of: trimmed, options: .backwards) else {
            throw APIError.badRequest("continue_final_message: the final message's text is not in the rendered prompt.", param: "continue_final_message")
        }
        return String(rendered[..<range.upperBound])
    }
}
