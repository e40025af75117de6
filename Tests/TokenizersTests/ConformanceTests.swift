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
            #expect(tok.decode(c.ids) == c.decoded, "\(suite.name): \(c.text.debugDescription)")
            #expect(tok.decode(c.ids, skipSpecialTokens: true) == c.decoded_skip, "\(suite.name): \(c.text.debugDescription)")
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
            #expect(tok.decode(c.ids) == c.decoded, "\(c.text.debugDescription)")
            #expect(tok.decode(c.ids, skipSpecialTokens: true) == c.decoded_skip, "\(c.text.debugDescription)")
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
