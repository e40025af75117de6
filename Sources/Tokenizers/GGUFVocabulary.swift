import Foundation

/// The tokenizer part of a GGUF file's metadata (`tokenizer.ggml.*`), as plain data.
public struct GGUFVocabulary: Sendable {
    /// `tokenizer.ggml.model`: "gpt2" (byte-level BPE with merges) or "llama" (SentencePiece BPE by scores).
    public var model: String
    /// `tokenizer.ggml.pre`: llama.cpp's pre-tokenizer name ("smollm", "qwen2", "llama-bpe", "default", …).
    public var pre: String
    public var tokens: [String]
    public var scores: [Float]
    /// 1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused, 6 byte.
    public var tokenTypes: [Int]
    /// "a b" pairs by rank.
    public var merges: [String]
    public var bosTokenId: Int?
    public var eosTokenId: Int?
    public var unknownTokenId: Int?
    public var paddingTokenId: Int?
    public var addBosToken: Bool
    public var addEosToken: Bool
    public var addSpacePrefix: Bool
    public var chatTemplate: String?

    public init(model: String, pre: String = "default", tokens: [String], scores: [Float] = [], tokenTypes: [Int] = [],
                merges: [String] = [], bosTokenId: Int? = nil, eosTokenId: Int? = nil, unknownTokenId: Int? = nil,
                paddingTokenId: Int? = nil, addBosToken: Bool = false, addEosToken: Bool = false,
                addSpacePrefix: Bool = false, chatTemplate: String? = nil) {
        self.model = model
        self.pre = pre
        self.tokens = tokens
        self.scores = scores
        self.tokenTypes = tokenTypes
        self.merges = merges
        self.bosTokenId = bosTokenId
        self.eosTokenId = eosTokenId
        self.unknownTokenId = unknownTokenId
        self.paddingTokenId = paddingTokenId
        self.addBosToken = addBosToken
        self.addEosToken = addEosToken
        self.addSpacePrefix = addSpacePrefix
        self.chatTemplate = chatTemplate
    }

    /// Llama-3 style vocabularies take a whole pre-token that is in the vocabulary as is (llama.cpp's
    /// `ignore_merges`, tokenizer.json's `ignore_merges: true`).
    static let ignoreMergesPre: Set<String> = ["llama3", "llama-bpe", "llama-v3", "falcon3", "falcon-h1", "pixtral", "midm-2.0", "lfm2"]

    /// llama.cpp's pre-tokenizer for a `tokenizer.ggml.pre` name (byte-level vocabularies).
    static func preTokenizer(for pre: String) -> PreTokenizer {
        let byteLevel = PreTokenizer.byteLevel(addPrefixSpace: false, useRegex: false)
        switch pre {
        case "qwen2", "qwen2.5", "qwen-2.5", "deepseek-r1-qwen", "stablelm2", "qwen3":
            return .sequence([.split(.qwen(maxDigits: 1, marksAreLetters: false), .isolated, invert: false), byteLevel])
        case "llama3", "llama-bpe", "llama-v3", "falcon3", "falcon-h1", "pixtral", "midm-2.0", "lfm2", "smaug-bpe", "dbrx",
             "glm4", "chatglm-bpe":
            return .sequence([.split(.qwen(maxDigits: 3, marksAreLetters: false), .isolated, invert: false), byteLevel])
        case "qwen35":
            return .sequence([.split(.qwen(maxDigits: 1, marksAreLetters: true), .isolated, invert: false), byteLevel])
        case "smollm", "starcoder", "refact", "command-r", "codeshell", "exaone", "minerva-7b":
            return .sequence([
                .split(.scalars { ScalarClass.of($0).contains(.number) }, .isolated, invert: false),
                .byteLevel(addPrefixSpace: false, useRegex: true),
            ])
        default:
            return .byteLevel(addPrefixSpace: false, useRegex: true)
        }
    }
}

extension Tokenizer {
    /// Builds the tokenizer a GGUF file describes, with the same implementation as tokenizer.json.
    public convenience init(gguf v: GGUFVocabulary) throws {
        var vocab: [String: Int] = [:]
        vocab.reserveCapacity(v.tokens.count)
        for (id, t) in v.tokens.enumerated() where vocab[t] == nil { vocab[t] = id }
        func type(_ id: Int) -> Int { id < v.tokenTypes.count ? v.tokenTypes[id] : 1 }
        var added: [AddedToken] = []
        for (id, t) in v.tokens.enumerated() where type(id) == 2 || type(id) == 3 || type(id) == 4 {
            added.append(AddedToken(id: id, content: t, special: type(id) != 4))
        }
        func name(_ id: Int?) -> String? { id.flatMap { $0 >= 0 && $0 < v.tokens.count ? v.tokens[$0] : nil } }
        var prefix: [Int] = []
        var suffix: [Int] = []
        if v.addBosToken, let b = v.bosTokenId { prefix.append(b) }
        if v.addEosToken, let e = v.eosTokenId { suffix.append(e) }
        let post: PostProcessor? = prefix.isEmpty && suffix.isEmpty ? nil : .wrap(prefix: prefix, suffix: suffix)

        switch v.model {
        case "gpt2":
            let merges = try v.merges.map { m -> (String, String) in
                // llama.cpp splits at the first space after the first character.
                let u = Array(m.unicodeScalars)
                guard u.count >= 3, let k = u.indices.dropFirst().first(where: { u[$0] == " " }) else {
                    throw TokenizerError.invalidVocabulary("merge \"\(m)\" is not \"a b\"")
                }
                var a = String.UnicodeScalarView(), b = String.UnicodeScalarView()
                a.append(contentsOf: u[..<k])
                b.append(contentsOf: u[(k + 1)...])
                return (String(a), String(b))
            }
            let model = try BPEModel(vocab: vocab, merges: merges, byteLevel: true, byteFallback: false,
                                     ignoreMerges: GGUFVocabulary.ignoreMergesPre.contains(v.pre), fuseUnk: false, unkToken: nil)
            self.init(normalizer: nil, preTokenizer: GGUFVocabulary.preTokenizer(for: v.pre), model: model, postProcessor: post,
                      decoder: .byteLevel, vocab: vocab, addedTokens: added, bosToken: name(v.bosTokenId),
                      eosToken: name(v.eosTokenId), chatTemplate: v.chatTemplate.map { .single($0) })
        case "llama":
            let model = try BPEModel(vocab: vocab, merges: Self.mergesByScore(v), byteLevel: false, byteFallback: true,
                                     ignoreMerges: false, fuseUnk: true, unkToken: name(v.unknownTokenId))
            let space = PreTokenizer.metaspace(replacement: PreTokenizer.metaspaceReplacement,
                                               prependScheme: v.addSpacePrefix ? .first : .never, split: false)
            var steps: [Decoder] = [.replace(.literal(PreTokenizer.metaspaceReplacement), [0x20]), .byteFallback, .fuse]
            if v.addSpacePrefix { steps.append(.strip(content: " ", start: 1, stop: 0)) }
            self.init(normalizer: nil, preTokenizer: space, model: model, postProcessor: post, decoder: .sequence(steps),
                      vocab: vocab, addedTokens: added, bosToken: name(v.bosTokenId), eosToken: name(v.eosTokenId),
                      chatTemplate: v.chatTemplate.map { .single($0) })
        default:
            throw TokenizerError.unsupported(component: "GGUF tokenizer model", type: v.model)
        }
    }

    /// SentencePiece BPE merges two pieces when their concatenation is a piece, highest score first.
    /// As merges (the way transformers converts SentencePiece vocabularies): every split of a piece into
    /// two pieces, ordered by the piece's score, then longer left and right parts first, then vocabulary order.
    static func mergesByScore(_ v: GGUFVocabulary) -> [(String, String)] {
        var ids: [String: Int] = [:]
        for (id, t) in v.tokens.enumerated() where ids[t] == nil { ids[t] = id }
        struct Candidate {
            var score: Float, lengthLeft: Int, lengthRight: Int, token: Int, left: Int, right: Int
            var pair: (String, String)
        }
        var found: [Candidate] = []
        for (id, t) in v.tokens.enumerated() where ids[t] == id {
            let scalars = Array(t.unicodeScalars)
            guard scalars.count > 1 else { continue }
            let score = id < v.scores.count ? v.scores[id] : 0
            for k in 1..<scalars.count {
                var a = String.UnicodeScalarView(), b = String.UnicodeScalarView()
                a.append(contentsOf: scalars[..<k])
                b.append(contentsOf: scalars[k...])
                let sa = String(a), sb = String(b)
                if let ia = ids[sa], let ib = ids[sb] {
                    found.append(Candidate(score: score, lengthLeft: k, lengthRight: scalars.count - k, token: id,
                                           left: ia, right: ib, pair: (sa, sb)))
                }
            }
        }
        found.sort { x, y in
            if x.score != y.score { return x.score > y.score }
            if x.lengthLeft != y.lengthLeft { return x.lengthLeft > y.lengthLeft }
            if x.lengthRight != y.lengthRight { return x.lengthRight > y.lengthRight }
            if x.token != y.token { return x.token < y.token }
            return x.left != y.left ? x.left < y.left : x.right < y.right
        }
        return found.map(\.pair)
    }
}
