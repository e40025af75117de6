import Foundation

extension GenerationConfig {
    /// Reads `generation_config.json`.
    public init(contentsOf url: URL) throws {
        try self.init(data: ModelError.read(url), path: url.path)
    }

    /// Parses the text of a `generation_config.json`; `path` names it in errors.
    public init(data: Data, path: String = "generation_config.json") throws {
        let json = try JSONFields(JSONValue.parse(data, path: path), path: path)
        self.init()
        bosTokenId = try json.int("bos_token_id")
        eosTokenIds = try json.ints("eos_token_id") ?? []
        temperature = try json.double("temperature")
        topP = try json.double("top_p")
        topK = try json.int("top_k")
        minP = try json.double("min_p")
        repetitionPenalty = try json.double("repetition_penalty")
        maxNewTokens = try json.int("max_new_tokens")
        doSample = try json.bool("do_sample")
    }
}
