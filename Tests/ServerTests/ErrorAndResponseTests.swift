import Engine
import Foundation
import Testing
import Server

@Suite struct ErrorShapes {
    @Test func errorBodyHasOpenAIShape() throws {
        let e = APIError.badRequest("temperature must be non-negative, got -1.0.", param: "temperature")
        let json = try JSONSerialization.jsonObject(with: e.body) as? [String: Any]
        let inner = json?["error"] as? [String: Any]
        #expect(inner?["message"] as? String == "temperature must be non-negative, got -1.0.")
        #expect(inner?["type"] as? String == "BadRequestError")
        #expect(inner?["param"] as? String == "temperature")
        #expect(inner?["code"] as? Int == 400)
    }

    @Test func nullParamIsEncodedAsNull() throws {
        let text = String(decoding: APIError(.notFound, "The model `x` does not exist.").body, as: UTF8.self)
        #expect(text.contains(#""param":null"#))
        #expect(text.contains("NotFoundError"))
    }

    @Test func engineErrorsAreClientErrors() {
        #expect(APIError.from(EngineError.invalidParameter("n must be at least 1, got 0.")).status.code == 400)
        let long = APIError.from(EngineError.promptTooLong(tokens: 9000, maxModelLen: 8192))
        #expect(long.status.code == 400)
        #expect(long.message.contains("8192") && long.message.contains("9000"))
        struct Boom: Error {}
        #expect(APIError.from(Boom()).status.code == 500)
    }

    @Test func samplingValidationNamesTheField() throws {
        let r = try decodeRequest(CompletionRequest.self, #"{"prompt": "x", "temperature": -1}"#)
        let p = try r.sampling.samplingParams(maxTokens: 4, logprobs: nil, defaults: GenerationDefaults())
        let e = apiError { try p.validate(vocabSize: 100) }
        #expect(e?.status.code == 400)
        #expect(e?.message.contains("temperature") == true)
    }
}

@Suite struct ResponseEncoding {
    @Test func choicesCarryExplicitNulls() throws {
        let choice = CompletionChoice(index: 0, text: "hi", logprobs: nil, finishReason: nil, stopReason: nil)
        let text = String(decoding: try JSONEncoder().encode(choice), as: UTF8.self)
        #expect(text.contains(#""finish_reason":null"#) && text.contains(#""logprobs":null"#) && text.contains(#""stop_reason":null"#))
    }

    @Test func deltaLeavesOutEmptyFields() throws {
        let text = String(decoding: try JSONEncoder().encode(DeltaMessage(content: "x")), as: UTF8.self)
        #expect(text == #"{"content":"x"}"#)
    }

    @Test func usageTotals() throws {
        let json = try JSONSerialization.jsonObject(with: JSONEncoder().encode(UsageInfo(promptTokens: 3, completionTokens: 4))) as? [String: Int]
        #expect(json == ["prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7])
    }

    @Test func promptOpensThinking() {
        #expect(OpenAIServer.promptOpensThinking("<|im_start|>assistant\n<think>\n"))
        #expect(!OpenAIServer.promptOpensThinking("<|im_start|>assistant\n<think>\n\n</think>\n\n"))
        #expect(!OpenAIServer.promptOpensThinking("<|im_start|>assistant\n"))
    }

    @Test func openAPISpecIsValidJSONWithEveryRoute() throws {
        let spec = try JSONSerialization.jsonObject(with: Data(OpenAPISpec.json.utf8)) as? [String: Any]
        let paths = (spec?["paths"] as? [String: Any]).map { Set($0.keys) } ?? []
        #expect(paths == ["/v1/models", "/v1/completions", "/v1/chat/completions", "/tokenize", "/detokenize",
                          "/health", "/version", "/metrics", "/openapi.json", "/docs"])
    }
}
