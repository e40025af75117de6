import Foundation
import Testing
import Tokenizers

/// Token ids and decodes identical to the `tokenizers` Python package on a multilingual corpus.
@Suite struct ConformanceTests {
    static let suites: [(name: String, tokenizer: @Sendable () -> Tokenizer, cases: @Sendable () throws -> [Fixtures.Case])] = [
        ("smollm2", { Fixtures.smol }, { try Fixtures.cases("smollm2/expected.json") }),
        ("qwen", { Fixtures.qwen }, { try Fixtures.cases("qwen/expected.json") }),
        ("sp-metaspace", { Fixtures.spMetaspace }, { try Fixtures.cases("sp/expected.json", key: "metaspace") }),
        ("sp-legacy", { Fixtures.spLegacy }, { try Fixtures.cases("sp/expected.json", key: "legacy") }),
    ]

    @Test(arguments: 0..<4)
    func idsAndDecodesMatchTokenizers(_ index: Int) throws {
        let suite = Self.suites[index]
        let tok = suite.tokenizer()
        for c in try suite.cases() {
            #expect(tok.encode(c.text) == c.ids, "\(suite.name): \(c.text.debugDescription)")
            #expect(tok.encode(c.text, addSpecialTokens: false) == c.ids_no_special, "\(suite.name): \(c.text.debugDescription)")
            #expect(Array(tok.decode(c.ids).utf8) == Array(c.decoded.utf8), "\(suite.name): \(c.text.debugDescription)")
            #expect(Array(tok.decode(c.ids, skipSpecialTokens: true).utf8) == Array(c.decoded_skip.utf8), "\(suite.name): \(c.text.debugDescription)")
        }
    }

    @Test func ggufVocabularyMatchesLlamaCppPreTokenizer() throws {
        let (vocabulary, cases) = try Fixtures.smolGGUF()
        let tok = try Tokenizer(gguf: vocabulary)
        #expect(tok.bosTokenId == 1)
        #expect(tok.eosTokenId == 2)
        #expect(tok.vocabSize == 49152)
        for c in cases {
            #expect(tok.encode(c.text) == c.ids, "\(c.text.debugDescription)")
            #expect(Array(tok.decode(c.ids).utf8) == Array(c.decoded.utf8), "\(c.text.debugDescription)")
            #expect(Array(tok.decode(c.ids, skipSpecialTokens: true).utf8) == Array(c.decoded_skip.utf8), "\(c.text.debugDescription)")
        }
    }

    @Test func configAndTemplates() throws {
        let smol = Fixtures.smol
        #expect(smol.bosToken == "<|im_start|>")
        #expect(smol.eosToken == "<|im_end|>")
        #expect(smol.eosTokenId == 2)
        #expect(smol.tokenToId("<|im_end|>") == 2)
        #expect(smol.idToToken(2) == "<|im_end|>")
        if case .single(let t) = smol.chatTemplate { #expect(t.contains("<|im_start|>")) } else { Issue.record("no chat template") }
        #expect(smol.specialTokenIds.contains(0))

        let qwen = Fixtures.qwen
        #expect(qwen.bosToken == nil)
        #expect(qwen.eosTokenId == qwen.tokenToId("<|im_end|>"))
        #expect(qwen.specialTokenIds.contains(qwen.tokenToId("<|im_start|>")!))
        #expect(!qwen.specialTokenIds.contains(qwen.tokenToId("<think>")!))
        guard case .named(let named) = qwen.chatTemplate else { Issue.record("expected named templates"); return }
        #expect(Set(named.keys) == ["default", "tool_use"])
        #expect(qwen.addedTokens.count == 26)
    }
}

/// One small tokenizer per family of components (normalizers, pre-tokenizers, split behaviours,
/// post-processors, decoders, and the hand-written regex matchers against Oniguruma).
@Suite struct ComponentTests {
    @Test(arguments: ["llama3", "gpt2split", "qwen35", "bytelevel_prefix", "bert_like", "splits", "invert", "whitespace", "metaspace_decoder"])
    func matchesTokenizers(_ name: String) throws {
        let tok = try Tokenizer(tokenizerJSON: Fixtures.data("components/\(name).json"))
        for c in try Fixtures.cases("components/expected.json", key: name) {
            #expect(tok.encode(c.text) == c.ids, "\(name): \(c.text.debugDescription)")
            #expect(tok.encode(c.text, addSpecialTokens: false) == c.ids_no_special, "\(name): \(c.text.debugDescription)")
            #expect(Array(tok.decode(c.ids).utf8) == Array(c.decoded.utf8), "\(name): \(c.text.debugDescription)")
            #expect(Array(tok.decode(c.ids, skipSpecialTokens: true).utf8) == Array(c.decoded_skip.utf8), "\(name): \(c.text.debugDescription)")
        }
    }

    /// The same regexes through NSRegularExpression (a pattern string we do not recognise) give the
    /// same ids as the hand-written matchers.
    @Test(arguments: ["llama3", "gpt2split", "qwen35"])
    func generalRegexAgreesWithHandWritten(_ name: String) throws {
        let data = try Fixtures.data("components/\(name).json")
        var json = try JSONSerialization.jsonObject(with: data) as! [String: Any]
        var pre = json["pre_tokenizer"] as! [String: Any]
        var steps = pre["pretokenizers"] as! [[String: Any]]
        var split = steps[0]
        let pattern = (split["pattern"] as! [String: String])["Regex"]!
        split["pattern"] = ["Regex": "(?:" + pattern + ")"]
        steps[0] = split
        pre["pretokenizers"] = steps
        json["pre_tokenizer"] = pre
        let general = try Tokenizer(tokenizerJSON: JSONSerialization.data(withJSONObject: json))
        let handWritten = try Tokenizer(tokenizerJSON: data)
        for c in try Fixtures.cases("components/expected.json", key: name) {
            #expect(general.encode(c.text) == handWritten.encode(c.text), "\(name): \(c.text.debugDescription)")
        }
    }

    @Test func ggufSentencePieceVocabulary() throws {
        struct Meta: Decodable {
            let tokens: [String]
            let scores: [Float]
            let token_type: [Int]
            let expected: [Fixtures.Case]
        }
        let meta = try JSONDecoder().decode(Meta.self, from: Fixtures.data("sp/gguf_llama.json"))
        let v = GGUFVocabulary(model: "llama", pre: "default", tokens: meta.tokens, scores: meta.scores, tokenTypes: meta.token_type,
                               bosTokenId: 1, eosTokenId: 2, unknownTokenId: 0, addBosToken: true, addSpacePrefix: true)
        let tok = try Tokenizer(gguf: v)
        for c in meta.expected {
            #expect(tok.encode(c.text, addSpecialTokens: false) == c.ids_no_special, "\(c.text.debugDescription)")
            #expect(tok.encode(c.text) == [1] + c.ids_no_special, "\(c.text.debugDescription)")
            #expect(Array(tok.decode(c.ids).utf8) == Array(c.decoded.utf8), "\(c.text.debugDescription)")
            #expect(Array(tok.decode(c.ids, skipSpecialTokens: true).utf8) == Array(c.decoded_skip.utf8), "\(c.text.debugDescription)")
        }
    }

    /// One Tokenizer shared by concurrent tasks (the word cache is behind a lock) gives the same ids.
    @Test func concurrentEncoding() async throws {
        let tok = try Tokenizer(tokenizerJSON: Fixtures.data("components/llama3.json"))
        let cases = try Fixtures.cases("components/expected.json", key: "llama3")
        await withTaskGroup(of: Bool.self) { group in
            for k in 0..<8 {
                group.addTask {
                    var ok = true
                    for _ in 0..<20 {
                        for c in cases.shuffled() where tok.encode(c.text + String(k)) != tok.encode(c.text + String(k)) { ok = false }
                        for c in cases where tok.encode(c.text) != c.ids { ok = false }
                    }
                    return ok
                }
            }
            for await ok in group { #expect(ok) }
        }
    }
}
