import Engine
import Foundation
import Testing
import Server

func decodeRequest<T: Decodable>(_ type: T.Type, _ json: String) throws -> T {
    do {
        return try JSONDecoder().decode(T.self, from: Data(json.utf8))
    } catch let error as DecodingError {
        throw APIError.fromDecoding(error)
    }
}

func apiError(_ body: () throws -> Void) -> APIError? {
    do { try body() } catch let e as APIError { return e } catch { return APIError.from(error) }
    return nil
}

@Suite struct CompletionRequestDecoding {
    @Test func promptShapes() throws {
        #expect(try decodeRequest(CompletionRequest.self, #"{"prompt": "hi"}"#).prompt == .texts(["hi"]))
        #expect(try decodeRequest(CompletionRequest.self, #"{"prompt": ["a", "b"]}"#).prompt == .texts(["a", "b"]))
        #expect(try decodeRequest(CompletionRequest.self, #"{"prompt": [1, 2, 3]}"#).prompt == .tokenLists([[1, 2, 3]]))
        #expect(try decodeRequest(CompletionRequest.self, #"{"prompt": [[1], [2, 3]]}"#).prompt == .tokenLists([[1], [2, 3]]))
    }

    @Test func unknownFieldsAreIgnored() throws {
        let r = try decodeRequest(CompletionRequest.self, #"{"prompt": "x", "frobnicate": {"a": 1}, "max_tokens": 5, "stop": "\n"}"#)
        #expect(r.maxTokens == 5)
        #expect(r.sampling.stop?.values == ["\n"])
    }

    @Test func samplingFieldsMapToEngineParams() throws {
        let r = try decodeRequest(CompletionRequest.self, """
            {"prompt": "x", "n": 2, "temperature": 0.5, "top_p": 0.9, "top_k": 5, "min_p": 0.1, "seed": 7,
             "presence_penalty": 0.5, "frequency_penalty": -0.5, "repetition_penalty": 1.1, "stop": ["a", "b"],
             "stop_token_ids": [3], "ignore_eos": true, "min_tokens": 2, "logit_bias": {"42": 5.0},
             "skip_special_tokens": false, "include_stop_str_in_output": true}
            """)
        let p = try r.sampling.samplingParams(maxTokens: 10, logprobs: 3, defaults: GenerationDefaults())
        #expect(p.n == 2 && p.temperature == 0.5 && p.topP == 0.9 && p.topK == 5 && p.minP == 0.1 && p.seed == 7)
        #expect(p.presencePenalty == 0.5 && p.frequencyPenalty == -0.5 && p.repetitionPenalty == 1.1)
        #expect(p.stop == ["a", "b"] && p.stopTokenIds == [3] && p.ignoreEos && p.minTokens == 2)
        #expect(p.logitBias == [42: 5.0] && !p.skipSpecialTokens && p.includeStopStrInOutput)
        #expect(p.maxTokens == 10 && p.logprobs == 3)
    }

    @Test func requestValuesWinOverGenerationDefaults() throws {
        let r = try decodeRequest(CompletionRequest.self, #"{"prompt": "x", "temperature": 0.2}"#)
        let p = try r.sampling.samplingParams(maxTokens: 8, logprobs: nil, defaults: GenerationDefaults(temperature: 0.7, topP: 0.8))
        #expect(p.temperature == 0.2 && p.topP == 0.8)
    }

    @Test func wrongTypesNameTheField() {
        let e = apiError { _ = try decodeRequest(CompletionRequest.self, #"{"prompt": "x", "max_tokens": "ten"}"#) }
        #expect(e?.status.code == 400)
        #expect(e?.message.contains("max_tokens") == true)
        #expect(e?.param == "max_tokens")
        let t = apiError { _ = try decodeRequest(CompletionRequest.self, #"{"prompt": "x", "temperature": true}"#) }
        #expect(t?.message.contains("temperature") == true)
        let p = apiError { _ = try decodeRequest(CompletionRequest.self, #"{"prompt": {"a": 1}}"#) }
        #expect(p?.message.contains("prompt") == true)
    }

    @Test func missingFieldIsNamed() {
        let e = apiError { _ = try decodeRequest(CompletionRequest.self, #"{"max_tokens": 3}"#) }
        #expect(e?.status.code == 400)
        #expect(e?.message == "Field required: 'prompt'")
    }

    @Test func malformedJSONIsABadRequest() {
        let e = apiError { _ = try decodeRequest(CompletionRequest.self, #"{"prompt": "#) }
        #expect(e?.status.code == 400)
        #expect(e?.message.hasPrefix("Invalid JSON") == true)
        let notObject = apiError { _ = try decodeRequest(CompletionRequest.self, "[1, 2]") }
        #expect(notObject?.status.code == 400)
    }

    @Test func logitBiasKeysMustBeTokenIds() throws {
        let r = try decodeRequest(CompletionRequest.self, #"{"prompt": "x", "logit_bias": {"abc": 1}}"#)
        let e = apiError { _ = try r.sampling.samplingParams(maxTokens: 1, logprobs: nil, defaults: GenerationDefaults()) }
        #expect(e?.param == "logit_bias")
    }

    @Test func streamOptionsNeedStream() throws {
        let r = try decodeRequest(CompletionRequest.self, #"{"prompt": "x", "stream_options": {"include_usage": true}}"#)
        let e = apiError { _ = try r.sampling.samplingParams(maxTokens: 1, logprobs: nil, defaults: GenerationDefaults()) }
        #expect(e?.param == "stream_options")
    }
}

@Suite struct ChatRequestDecoding {
    @Test func contentPartsAreJoined() throws {
        let r = try decodeRequest(ChatCompletionRequest.self, """
            {"messages": [{"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]}]}
            """)
        #expect(r.messages[0].content == "a\nb")
        #expect(r.messages[0].raw["content"] == .string("a\nb"))
    }

    @Test func extraMessageFieldsPassThrough() throws {
        let r = try decodeRequest(ChatCompletionRequest.self, """
            {"messages": [{"role": "assistant", "content": null, "tool_calls": [{"id": "1", "type": "function",
              "function": {"name": "f", "arguments": "{}"}}]}, {"role": "tool", "content": "42", "tool_call_id": "1"}]}
            """)
        #expect(r.messages[0].content == nil)
        #expect(r.messages[0].raw["tool_calls"]?.array?.count == 1)
        #expect(r.messages[1].raw["tool_call_id"] == .string("1"))
    }

    @Test func unknownRoleIsNamed() {
        let e = apiError { _ = try decodeRequest(ChatCompletionRequest.self, #"{"messages": [{"role": "wizard", "content": "x"}]}"#) }
        #expect(e?.status.code == 400)
        #expect(e?.message.contains("messages[0].role") == true)
        #expect(e?.message.contains("wizard") == true)
    }

    @Test func emptyMessagesRejected() throws {
        let r = try decodeRequest(ChatCompletionRequest.self, #"{"messages": []}"#)
        let e = apiError { try r.validate() }
        #expect(e?.param == "messages")
    }

    @Test func wrongContentTypeNamesThePath() {
        let e = apiError { _ = try decodeRequest(ChatCompletionRequest.self, #"{"messages": [{"role": "user", "content": 5}]}"#) }
        #expect(e?.message.contains("messages[0].content") == true)
    }

    @Test func toolChoiceRules() throws {
        for (choice, ok) in [(#""auto""#, true), (#""none""#, true), (#""required""#, false),
                             (#"{"type": "function", "function": {"name": "f"}}"#, false), ("3", false)] {
            let r = try decodeRequest(ChatCompletionRequest.self, #"{"messages": [{"role": "user", "content": "x"}], "tool_choice": \#(choice)}"#)
            let e = apiError { try r.validate() }
            #expect((e == nil) == ok, "tool_choice \(choice)")
            if !ok { #expect(e?.param == "tool_choice") }
        }
    }

    @Test func topLogprobsNeedsLogprobs() throws {
        let r = try decodeRequest(ChatCompletionRequest.self, #"{"messages": [{"role": "user", "content": "x"}], "top_logprobs": 3}"#)
        #expect(apiError { try r.validate() }?.param == "top_logprobs")
        let big = try decodeRequest(ChatCompletionRequest.self, #"{"messages": [{"role": "user", "content": "x"}], "logprobs": true, "top_logprobs": 21}"#)
        #expect(apiError { try big.validate() }?.param == "top_logprobs")
    }

    @Test func continueFinalMessageRules() throws {
        let both = try decodeRequest(ChatCompletionRequest.self, """
            {"messages": [{"role": "assistant", "content": "x"}], "continue_final_message": true, "add_generation_prompt": true}
            """)
        #expect(apiError { try both.validate() }?.param == "continue_final_message")
        let notAssistant = try decodeRequest(ChatCompletionRequest.self, """
            {"messages": [{"role": "user", "content": "x"}], "continue_final_message": true, "add_generation_prompt": false}
            """)
        #expect(apiError { try notAssistant.validate() } != nil)
    }

    @Test func chatTemplateKwargsKeepTheirValues() throws {
        let r = try decodeRequest(ChatCompletionRequest.self, #"{"messages": [{"role": "user", "content": "x"}], "chat_template_kwargs": {"enable_thinking": false}}"#)
        #expect(r.chatTemplateKwargs?["enable_thinking"] == .bool(false))
        #expect(r.chatTemplateKwargs?["enable_thinking"]?.foundation as? Bool == false)
    }
}
