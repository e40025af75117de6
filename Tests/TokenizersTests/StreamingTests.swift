import Testing
import Tokenizers

/// The incremental detokenizer releases whole characters only, and what it releases adds up to a full
/// decode for every prefix of the ids.
@Suite struct StreamingTests {
    /// Byte-fallback decoding turns a whole run of byte tokens into U+FFFD when the run ends mid-character,
    /// so a prefix's full decode is only comparable where it does not end in U+FFFD; there the released
    /// text must be exactly the full decode, and everything released must be a prefix of the final text.
    func check(_ tok: Tokenizer, _ ids: [Int], skip: Bool, label: String) {
        var detok = IncrementalDetokenizer(tokenizer: tok, skipSpecialTokens: skip)
        let final = tok.decode(ids, skipSpecialTokens: skip)
        var released = ""
        for n in 1...max(ids.count, 1) where n <= ids.count {
            released += detok.append(ids[n - 1])
            #expect(!released.unicodeScalars.contains("\u{FFFD}") || final.unicodeScalars.contains("\u{FFFD}"), "\(label) prefix \(n)")
            #expect(final.unicodeScalars.starts(with: released.unicodeScalars), "\(label) prefix \(n)")
            let full = tok.decode(Array(ids[..<n]), skipSpecialTokens: skip)
            if full.unicodeScalars.last != "\u{FFFD}" {
                #expect(Array(released.utf8) == Array(full.utf8), "\(label) prefix \(n)")
            }
        }
        released += detok.flush()
        #expect(Array(released.utf8) == Array(final.utf8), "\(label)")
    }

    @Test(arguments: 0..<4)
    func everyPrefixMatchesFullDecode(_ index: Int) throws {
        let suite = ConformanceTests.suites[index]
        let tok = suite.tokenizer()
        for c in try suite.cases() {
            check(tok, c.ids, skip: false, label: "\(suite.name) \(c.text.debugDescription)")
            check(tok, c.ids, skip: true, label: "\(suite.name) skip \(c.text.debugDescription)")
        }
    }

    @Test func holdsBackSplitMultibyteCharacters() {
        let tok = Fixtures.qwen
        // "中" is three bytes; byte-level tokens for each byte alone.
        let bytes = Array("中".utf8)
        let ids = bytes.map { b in tok.tokenToId(String(Unicode.Scalar(Self.byteLevelScalar(b))!))! }
        var detok = IncrementalDetokenizer(tokenizer: tok)
        #expect(detok.append(ids[0]) == "")
        #expect(detok.append(ids[1]) == "")
        #expect(detok.append(ids[2]) == "中")
        #expect(detok.flush() == "")

        var partial = IncrementalDetokenizer(tokenizer: tok)
        #expect(partial.append(ids[0]) == "")
        #expect(partial.flush() == "\u{FFFD}")
    }

    @Test func byteFallbackSplitsAreHeldBack() {
        let tok = Fixtures.spMetaspace
        let ids = Array("😀".utf8).map { tok.tokenToId(String(format: "<0x%02X>", $0))! }
        var detok = IncrementalDetokenizer(tokenizer: tok)
        var out = ""
        for (i, id) in ids.enumerated() {
            let piece = detok.append(id)
            if i < ids.count - 1 { #expect(piece == "") }
            out += piece
        }
        #expect(out == "😀")
    }

    static func byteLevelScalar(_ b: UInt8) -> UInt32 {
        var n: UInt32 = 0
        for x in 0..<256 {
            let printable = (0x21...0x7E).contains(x) || (0xA1...0xAC).contains(x) || (0xAE...0xFF).contains(x)
            if x == Int(b) { return printable ? UInt32(x) : 256 + n }
            if !printable { n += 1 }
        }
        return 0
    }

    /// With the prompt as context, the streamed text is what the full decode adds after the prompt, so a
    /// Metaspace/Strip decoder keeps the first generated token's leading space.
    @Test(arguments: 0..<4)
    func promptContextKeepsLeadingSpace(_ index: Int) throws {
        let suite = ConformanceTests.suites[index]
        let tok = suite.tokenizer()
        for c in try suite.cases() where c.ids_no_special.count >= 4 {
            let ids = c.ids_no_special
            for k in [1, ids.count / 2, ids.count - 1] {
                let prompt = tok.decode(Array(ids[..<k]))
                let full = tok.decode(ids)
                guard prompt.unicodeScalars.last != "\u{FFFD}", full.unicodeScalars.starts(with: prompt.unicodeScalars) else { continue }
                var detok = IncrementalDetokenizer(tokenizer: tok, context: Array(ids[..<k]))
                var released = ""
                for id in ids[k...] { released += detok.append(id) }
                released += detok.flush()
                var expected = String.UnicodeScalarView()
                expected.append(contentsOf: full.unicodeScalars.dropFirst(prompt.unicodeScalars.count))
                #expect(Array(released.utf8) == Array(String(expected).utf8), "\(suite.name) \(c.text.debugDescription) k=\(k)")
            }
        }
    }

    @Test func metaspaceFirstGeneratedTokenKeepsSpace() throws {
        let tok = Fixtures.spLegacy
        let ids = tok.encode("Hello world", addSpecialTokens: false)
        let k = try #require(ids.indices.dropFirst().first { tok.idToToken(ids[$0])!.hasPrefix("▁") })
        var withContext = IncrementalDetokenizer(tokenizer: tok, context: Array(ids[..<k]))
        let text = ids[k...].map { withContext.append($0) }.joined() + withContext.flush()
        #expect(text == " world")
        var fresh = IncrementalDetokenizer(tokenizer: tok)
        #expect(ids[k...].map { fresh.append($0) }.joined() + fresh.flush() == "world")
        #expect(tok.decode(ids) == "Hello world")
    }
}
