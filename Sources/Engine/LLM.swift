import Foundation
import Models
import Tensors

/// The offline API (vLLM's `LLM`): load once, then `generate` or `chat` over many prompts, which
/// are batched together by the engine. Outputs come back in the order of the inputs.
public final class LLM {
    public let engine: LLMEngine
    private var nextId = 0

    /// `backend` picks the device (e.g. `CPUBackend()`); `Engine` does not know the backends.
    public init(model: String, backend: any Backend, loadFormat: LoadFormat = .auto, maxModelLen: Int? = nil,
                chatTemplate: String? = nil, config: EngineConfig = EngineConfig()) throws {
        let loaded = try LoadedModel.load(path: model, loadFormat: loadFormat, backend: backend,
                                          maxModelLen: maxModelLen, chatTemplate: chatTemplate)
        engine = try LLMEngine(loaded: loaded, config: config)
    }

    public var loaded: LoadedModel { engine.loaded }

    public func generate(_ prompts: [String], _ params: SamplingParams = SamplingParams()) throws -> [RequestOutput] {
        try run(prompts.map { .text($0) }, params)
    }

    public func generate(promptTokenIds: [[Int]], _ params: SamplingParams = SamplingParams()) throws -> [RequestOutput] {
        try run(promptTokenIds.map { .tokens($0) }, params)
    }

    /// Each conversation is a list of OpenAI-style messages (`["role": ..., "content": ...]`),
    /// rendered with the model's chat template; `chatTemplateKwargs` reach the template
    /// (e.g. `["enable_thinking": false]`).
    public func chat(_ conversations: [[[String: Any]]], _ params: SamplingParams = SamplingParams(),
                     chatTemplateKwargs: [String: Any] = [:], addGenerationPrompt: Bool = true,
                     tools: [[String: Any]]? = nil) throws -> [RequestOutput] {
        let prompts = try conversations.map {
            try loaded.applyChatTemplate(messages: $0, tools: tools, addGenerationPrompt: addGenerationPrompt,
                                         kwargs: chatTemplateKwargs)
        }
        // The template wrote any BOS itself; don't add the tokenizer's again.
        return try run(prompts.map { .tokens(loaded.encode($0, addSpecialTokens: false)) }, params, texts: prompts)
    }

    private func run(_ prompts: [PromptInput], _ params: SamplingParams, texts: [String]? = nil) throws -> [RequestOutput] {
        var ids: [String] = []
        for prompt in prompts {
            let id = "\(nextId)"
            nextId += 1
            do {
                try engine.addRequest(id, prompt: prompt, params: params, outputKind: .finalOnly)
            } catch {
                for queued in ids { engine.abortRequest(queued) }
                throw error
            }
            ids.append(id)
        }
        var done: [String: RequestOutput] = [:]
        while engine.hasUnfinishedRequests {
            for output in try engine.step() where output.finished { done[output.requestId] = output }
        }
        return ids.enumerated().map { i, id in
            var out = done[id]!
            if let texts { out = out.withPrompt(texts[i]) }
            return out
        }
    }
}

extension RequestOutput {
    func withPrompt(_ text: String) -> RequestOutput {
        RequestOutput(requestId: requestId, prompt: text, promptTokenIds: promptTokenIds, promptLogprobs: promptLogprobs,
                      outputs: outputs, finished: finished, metrics: metrics)
    }
}
