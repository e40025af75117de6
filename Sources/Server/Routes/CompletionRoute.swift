import Engine
import Foundation
import Hummingbird

extension OpenAIServer {
    /// `POST /v1/completions`: one engine request per prompt, `n` choices each
    /// (choice index = prompt index × n + completion index).
    func completions(_ request: CompletionRequest) async throws -> Response {
        try checkModel(request.model)
        if request.prompt.count == 0 { throw APIError.badRequest("prompt must not be empty.", param: "prompt") }
        if request.suffix != nil { throw APIError.badRequest("suffix is not currently supported.", param: "suffix") }
        let fields = request.sampling
        if let bestOf = fields.bestOf, fields.isStream, bestOf > (fields.n ?? 1) {
            throw APIError.badRequest("best_of greater than n is not supported with streaming.", param: "best_of")
        }
        let echo = fields.echo ?? false
        let vocab = loaded.model.config.vocabSize
        var collected: [(text: String, ids: [Int])] = []
        switch request.prompt {
        case .texts(let texts):
            for text in texts { collected.append((text, loaded.encode(text, addSpecialTokens: request.addSpecialTokens ?? true))) }
        case .tokenLists(let lists):
            for ids in lists {
                if let bad = ids.first(where: { $0 < 0 || $0 >= vocab }) {
                    throw APIError.badRequest("Token id \(bad) in the prompt is out of vocabulary (vocab size \(vocab)).", param: "prompt")
                }
                collected.append((loaded.tokenizer.decode(ids), ids))
            }
        }
        let prompts = collected
        if prompts.contains(where: { $0.ids.isEmpty }) { throw APIError.badRequest("The prompt is empty.", param: "prompt") }
        var allParams: [SamplingParams] = []
        for prompt in prompts {
            var params = try makeParams(fields, maxTokens: request.maxTokens, defaultMaxTokens: 16, logprobs: request.logprobs,
                                        promptTokens: prompt.ids.count)
            if echo, let logprobs = request.logprobs { params.promptLogprobs = max(params.promptLogprobs ?? 0, logprobs) }
            allParams.append(params)
        }
        let id = Self.newId("cmpl-")
        let created = Self.now
        let n = allParams[0].n
        let ids = prompts.indices.map { "\(id)-\($0)" }
        let inFlight = InFlightRequests(engine: engine, ids: ids)
        let streams = prompts.indices.map {
            engine.generate(.tokens(prompts[$0].ids), params: allParams[$0], requestId: ids[$0],
                            kind: fields.isStream ? .delta : .finalOnly)
        }
        let promptTokens = prompts.reduce(0) { $0 + $1.ids.count }

        if !fields.isStream {
            var finals = [RequestOutput?](repeating: nil, count: prompts.count)
            do {
                for try await (index, output) in mergeOutputs(streams) {
                    finals[index] = output
                    if output.finished { inFlight.finished(ids[index]) }
                }
            } catch {
                inFlight.abortRemaining()
                throw error
            }
            inFlight.abortRemaining()
            var choices: [CompletionChoice] = []
            var completionTokens = 0
            for (p, output) in finals.enumerated() {
                guard let output else { continue }
                let tokens = output.outputs.reduce(0) { $0 + $1.tokenIds.count }
                completionTokens += tokens
                record(output, promptTokens: prompts[p].ids.count, outputTokens: tokens)
                for completion in output.outputs {
                    var logprobs: CompletionLogprobs?
                    if request.logprobs != nil {
                        var lp = CompletionLogprobs()
                        if echo { lp.appendPrompt(ids: prompts[p].ids, logprobs: output.promptLogprobs, decode: { self.loaded.tokenizer.decode($0) }) }
                        lp.append(completion.logprobs ?? [], startingAt: echo ? prompts[p].text.count : 0)
                        logprobs = lp
                    }
                    choices.append(CompletionChoice(index: p * n + completion.index,
                                                    text: (echo ? prompts[p].text : "") + completion.text,
                                                    logprobs: logprobs, finishReason: completion.finishReason?.rawValue,
                                                    stopReason: StopReasonValue(completion.stopReason)))
                }
            }
            return try JSON.response(CompletionResponse(id: id, created: created, model: modelName, choices: choices,
                                                        usage: UsageInfo(promptTokens: promptTokens, completionTokens: completionTokens)))
        }

        let includeUsage = fields.includeUsage
        let model = modelName
        return JSON.eventStream(aborting: inFlight) { writer in
            var completionTokens = 0
            var perPrompt = [Int](repeating: 0, count: prompts.count)
            var echoed = Set<Int>()
            var textLength = [Int: Int]()
            var done = Set<Int>()
            for try await (p, output) in mergeOutputs(streams) {
                for completion in output.outputs where !done.contains(p * n + completion.index) {
                    let choiceIndex = p * n + completion.index
                    if completion.finishReason != nil { done.insert(choiceIndex) }
                    var text = completion.text
                    var logprobs: CompletionLogprobs?
                    if request.logprobs != nil { logprobs = CompletionLogprobs() }
                    if echo, !echoed.contains(choiceIndex) {
                        echoed.insert(choiceIndex)
                        text = prompts[p].text + text
                        logprobs?.appendPrompt(ids: prompts[p].ids, logprobs: output.promptLogprobs, decode: { self.loaded.tokenizer.decode($0) })
                    }
                    let offset = textLength[choiceIndex, default: 0] + (logprobs?.tokens.isEmpty == false && echo ? prompts[p].text.count : 0)
                    logprobs?.append(completion.logprobs ?? [], startingAt: offset)
                    textLength[choiceIndex, default: 0] += text.count
                    completionTokens += completion.tokenIds.count
                    perPrompt[p] += completion.tokenIds.count
                    if text.isEmpty && completion.finishReason == nil && completion.tokenIds.isEmpty { continue }
                    let chunk = CompletionResponse(id: id, created: created, model: model, choices: [
                        CompletionChoice(index: choiceIndex, text: text, logprobs: logprobs,
                                         finishReason: completion.finishReason?.rawValue,
                                         stopReason: StopReasonValue(completion.stopReason))])
                    try await writer.write(JSON.event(chunk))
                }
                if output.finished {
                    inFlight.finished(ids[p])
                    self.record(output, promptTokens: prompts[p].ids.count, outputTokens: perPrompt[p])
                }
            }
            if includeUsage {
                try await writer.write(JSON.event(CompletionResponse(id: id, created: created, model: model, choices: [],
                    usage: UsageInfo(promptTokens: promptTokens, completionTokens: completionTokens))))
            }
        }
    }
}

extension APIError.Body {
    static func from(_ error: APIError) -> APIError.Body {
        APIError.Body(error: .init(message: error.message, type: error.type, param: error.param, code: Int(error.status.code)))
    }
}

extension CompletionLogprobs {
    /// The prompt's positions for `echo`: the first has no logprob (nothing precedes it).
    mutating func appendPrompt(ids: [Int], logprobs: [[Logprob]?]?, decode: ([Int]) -> String) {
        var offset = 0
        for (i, id) in ids.enumerated() {
            let candidates = logprobs.flatMap { i < $0.count ? $0[i] : nil }
            let token = decode([id])
            tokens.append(token)
            textOffset.append(offset)
            offset += token.count
            if let candidates, let first = candidates.first {
                tokenLogprobs.append(Double(first.logprob))
                var top: [String: Double] = [:]
                for c in candidates.dropFirst() where top[c.decodedToken] == nil { top[c.decodedToken] = Double(c.logprob) }
                topLogprobs.append(top)
            } else {
                tokenLogprobs.append(nil)
                topLogprobs.append(nil)
            }
        }
    }
}
