import Foundation
import Tokenizers

/// Test data written by scripts/make_tokenizer_fixtures.py with the `tokenizers` Python package.
enum Fixtures {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

    static func data(_ path: String) throws -> Data {
        try Data(contentsOf: directory.appendingPathComponent(path))
    }

    struct Case: Decodable {
        let text: String
        let ids: [Int]
        let ids_no_special: [Int]
        let decoded: String
        let decoded_skip: String
    }

    static func cases(_ path: String, key: String? = nil) throws -> [Case] {
        let d = try data(path)
        if let key {
            return try JSONDecoder().decode([String: [Case]].self, from: d)[key] ?? []
        }
        return try JSONDecoder().decode([Case].self, from: d)
    }

    struct GGUFMeta: Decodable {
        let model: String
        let pre: String
        let token_types: [Int]
        let bos_token_id: Int?
        let eos_token_id: Int?
        let unknown_token_id: Int?
        let padding_token_id: Int?
        let add_bos_token: Bool
        let add_space_prefix: Bool
        let chat_template: String?
        let expected: [Case]
    }

    /// SmolLM2's GGUF vocabulary: metadata from gguf.json, tokens and merges from tokenizer.json (the
    /// fixture script checks they are the GGUF's own).
    static func smolGGUF() throws -> (GGUFVocabulary, [Case]) {
        let meta = try JSONDecoder().decode(GGUFMeta.self, from: data("smollm2/gguf.json"))
        let json = try JSONSerialization.jsonObject(with: data("smollm2/tokenizer.json")) as! [String: Any]
        let model = json["model"] as! [String: Any]
        var vocab = model["vocab"] as! [String: Int]
        for t in json["added_tokens"] as! [[String: Any]] { vocab[t["content"] as! String] = t["id"] as? Int }
        var tokens = [String](repeating: "", count: vocab.count)
        for (t, id) in vocab { tokens[id] = t }
        let merges = (model["merges"] as! [[String]]).map { $0.joined(separator: " ") }
        let v = GGUFVocabulary(
            model: meta.model, pre: meta.pre, tokens: tokens, tokenTypes: meta.token_types, merges: merges,
            bosTokenId: meta.bos_token_id, eosTokenId: meta.eos_token_id, unknownTokenId: meta.unknown_token_id,
            paddingTokenId: meta.padding_token_id, addBosToken: meta.add_bos_token, addSpacePrefix: meta.add_space_prefix,
            chatTemplate: meta.chat_template)
        return (v, meta.expected)
    }

    static let smol: Tokenizer = try! Tokenizer(directory: directory.appendingPathComponent("smollm2"))
    static let qwen: Tokenizer = try! Tokenizer(directory: directory.appendingPathComponent("qwen"))
    static let spMetaspace: Tokenizer = try! Tokenizer(tokenizerJSON: data("sp/metaspace.json"))
    static let spLegacy: Tokenizer = try! Tokenizer(tokenizerJSON: data("sp/legacy.json"))
}
