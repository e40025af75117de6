import Foundation
import Testing
import Tokenizers

/// Bad tokenizer files give errors, never crashes.
@Suite struct ErrorTests {
    func load(_ json: String) throws -> Tokenizer {
        try Tokenizer(tokenizerJSON: Data(json.utf8))
    }

    static let model = #""model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": ["a b"]}"#

    @Test func validMinimalTokenizer() throws {
        let tok = try load("{\(Self.model)}")
        #expect(tok.encode("ab") == [2])
        #expect(tok.encode("aab") == [0, 2])
    }

    @Test func notJSON() {
        #expect(throws: TokenizerError.self) { try load("{not json") }
        #expect(throws: TokenizerError.self) { try load("[1, 2]") }
        #expect(throws: TokenizerError.self) { try load("") }
    }

    @Test func missingModel() {
        #expect(throws: TokenizerError.self) { try load(#"{"normalizer": null}"#) }
        #expect(throws: TokenizerError.self) { try load(#"{"model": {"type": "BPE", "merges": []}}"#) }
    }

    @Test func unknownComponents() {
        #expect(throws: TokenizerError.self) { try load(#"{\#(Self.model), "pre_tokenizer": {"type": "Mystery"}}"#) }
        #expect(throws: TokenizerError.self) { try load(#"{\#(Self.model), "normalizer": {"type": "Precompiled"}}"#) }
        #expect(throws: TokenizerError.self) { try load(#"{\#(Self.model), "decoder": {"type": "Nope"}}"#) }
        #expect(throws: TokenizerError.self) { try load(#"{\#(Self.model), "post_processor": {"foo": 1}}"#) }
        #expect(throws: TokenizerError.self) { try load(#"{"model": {"type": "Unigram", "vocab": []}}"#) }
    }

    @Test func badMergesAndRegex() {
        #expect(throws: TokenizerError.self) { try load(#"{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": ["a b"]}}"#) }
        #expect(throws: TokenizerError.self) { try load(#"{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": [3]}}"#) }
        #expect(throws: TokenizerError.self) {
            try load(#"{\#(Self.model), "pre_tokenizer": {"type": "Split", "pattern": {"Regex": "(unclosed"}, "behavior": "Isolated"}}"#)
        }
        #expect(throws: TokenizerError.self) { try load(#"{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": [], "unk_token": "<unk>"}}"#) }
    }

    @Test func missingDirectory() {
        #expect(throws: TokenizerError.self) { try Tokenizer(directory: URL(fileURLWithPath: "/nonexistent/tokenizer")) }
    }

    @Test func unknownGGUFModel() {
        #expect(throws: TokenizerError.self) { try Tokenizer(gguf: GGUFVocabulary(model: "bert", tokens: ["a"])) }
    }
}
