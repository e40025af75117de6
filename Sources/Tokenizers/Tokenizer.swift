import Foundation

/// A chat template as tokenizer_config.json gives it: one template, or several by name.
public enum ChatTemplateSource: Sendable, Equatable {
    case single(String)
    case named([String: String])
}

/// A tokenizer built from a Hugging Face `tokenizer.json` (or a GGUF vocabulary): added tokens, normalizer,
/// pre-tokenizer, BPE model, post-processor and decoder, as the `tokenizers` library runs them.
public final class Tokenizer: Sendable {
    let normalizer: Normalizer?
    let preTokenizer: PreTokenizer?
    let model: BPEModel
    let postProcessor: PostProcessor?
    let decoder: Decoder?
    /// Added tokens matched on the raw text, and those matched after normalization.
    let rawMatcher: AddedTokenMatcher
    let normalizedMatcher: AddedTokenMatcher
    /// Token string of every id (added tokens included); nil for gaps.
    let idToTokenTable: [String?]
    let tokenToIdTable: [String: Int]
    let specialIds: Set<Int>

    public let addedTokens: [AddedToken]
    public let bosToken: String?
    public let eosToken: String?
    public let chatTemplate: ChatTemplateSource?

    public var vocabSize: Int { idToTokenTable.count }
    public var bosTokenId: Int? { bosToken.flatMap(tokenToId) }
    public var eosTokenId: Int? { eosToken.flatMap(tokenToId) }
    public var specialTokenIds: Set<Int> { specialIds }

    public convenience init(tokenizerJSON: Data, tokenizerConfig: Data? = nil) throws {
        try self.init(tokenizerJSON: tokenizerJSON, tokenizerConfig: tokenizerConfig, chatTemplateFile: nil)
    }

    /// Reads `tokenizer.json`, and `tokenizer_config.json` and `chat_template.jinja` where present.
    public convenience init(directory: URL) throws {
        let json: Data
        do {
            json = try Data(contentsOf: directory.appendingPathComponent("tokenizer.json"))
        } catch {
            throw TokenizerError.io("cannot read \(directory.appendingPathComponent("tokenizer.json").path): \(error.localizedDescription)")
        }
        let config = try? Data(contentsOf: directory.appendingPathComponent("tokenizer_config.json"))
        let jinja = (try? Data(contentsOf: directory.appendingPathComponent("chat_template.jinja"))).map { String(decoding: $0, as: UTF8.self) }
        try self.init(tokenizerJSON: json, tokenizerConfig: config, chatTemplateFile: jinja)
    }

    convenience init(tokenizerJSON: Data, tokenizerConfig: Data?, chatTemplateFile: String?) throws {
        let root = try JSONNode.parse(tokenizerJSON, what: "tokenizer.json")
        guard root.members != nil else { throw TokenizerError.invalidJSON("tokenizer.json must hold an object") }
        let modelNode = try root.required("model")
        let modelType = modelNode["type"]?.string ?? (modelNode["merges"] != nil ? "BPE" : "")
        guard modelType == "BPE" else { throw TokenizerError.unsupported(component: "model", type: modelType) }
        guard let vocabObject = try modelNode.required("vocab").members else {
            throw TokenizerError.invalidJSON("model.vocab must be an object")
        }
        var vocab: [String: Int] = [:]
        vocab.reserveCapacity(vocabObject.count)
        for (k, v) in vocabObject {
            guard case .integer(let id) = v else { throw TokenizerError.invalidJSON("model.vocab[\(k)] must be an integer") }
            vocab[k] = id
        }
        var merges: [(String, String)] = []
        for m in try modelNode.requiredArray("merges") {
            if let s = m.string {
                // Split on the byte, not the Character: a space followed by a combining mark is one Character.
                let parts = s.utf8.split(separator: 0x20, omittingEmptySubsequences: false)
                guard parts.count == 2 else { throw TokenizerError.invalidJSON("\(m.path): a merge must be \"a b\"") }
                merges.append((String(decoding: parts[0], as: UTF8.self), String(decoding: parts[1], as: UTF8.self)))
            } else if let a = m.array, a.count == 2, case .string(let x) = a[0], case .string(let y) = a[1] {
                merges.append((x, y))
            } else {
                throw TokenizerError.invalidJSON("\(m.path): a merge must be \"a b\" or [\"a\", \"b\"]")
            }
        }
        if let prefix = modelNode["continuing_subword_prefix"]?.string, !prefix.isEmpty {
            throw TokenizerError.unsupported(component: "BPE option", type: "continuing_subword_prefix")
        }
        if let suffix = modelNode["end_of_word_suffix"]?.string, !suffix.isEmpty {
            throw TokenizerError.unsupported(component: "BPE option", type: "end_of_word_suffix")
        }
        let added = try (root["added_tokens"]?.elements ?? []).map(AddedToken.init)
        let normalizer = try root["normalizer"].map(Normalizer.parse)
        let preTokenizer = try root["pre_tokenizer"].map(PreTokenizer.parse)
        let postProcessor = try root["post_processor"].map(PostProcessor.parse)
        let decoder = try root["decoder"].map(Decoder.parse)
        let model = try BPEModel(
            vocab: vocab, merges: merges, byteLevel: preTokenizer?.usesByteLevel ?? false,
            byteFallback: modelNode.bool("byte_fallback", default: false), ignoreMerges: modelNode.bool("ignore_merges", default: false),
            fuseUnk: modelNode.bool("fuse_unk", default: false), unkToken: modelNode["unk_token"]?.string)

        var bos: String?
        var eos: String?
        var template: ChatTemplateSource?
        if let configData = tokenizerConfig {
            let config = try JSONNode.parse(configData, what: "tokenizer_config.json")
            func tokenName(_ key: String) -> String? {
                guard let n = config[key] else { return nil }
                return n.string ?? n["content"]?.string
            }
            bos = tokenName("bos_token")
            eos = tokenName("eos_token")
            if let t = config["chat_template"] {
                if let s = t.string {
                    template = .single(s)
                } else if let list = t.array {
                    var named: [String: String] = [:]
                    for item in t.elements {
                        guard let name = item["name"]?.string, let body = item["template"]?.string else {
                            throw TokenizerError.invalidJSON("chat_template entries must be {name, template}")
                        }
                        named[name] = body
                    }
                    template = .named(named)
                }
            }
        }
        if let file = chatTemplateFile {
            if case .named(var named) = template {
                named["default"] = file
                template = .named(named)
            } else {
                template = .single(file)
            }
        }
        self.init(normalizer: normalizer, preTokenizer: preTokenizer, model: model, postProcessor: postProcessor,
                  decoder: decoder, vocab: vocab, addedTokens: added, bosToken: bos, eosToken: eos, chatTemplate: template)
    }

    init(normalizer: Normalizer?, preTokenizer: PreTokenizer?, model: BPEModel, postProcessor: PostProcessor?,
         decoder: Decoder?, vocab: [String: Int], addedTokens: [AddedToken], bosToken: String?, eosToken: String?,
         chatTemplate: ChatTemplateSource?) {
        self.normalizer = normalizer
        self.preTokenizer = preTokenizer
        self.model = model
        self.postProcessor = postProcessor
        self.decoder = decoder
        self.addedTokens = addedTokens
        self.bosToken = bosToken
        self.eosToken = eosToken
        self.chatTemplate = chatTemplate

        var toId = vocab
        let maxId = max(vocab.values.max() ?? -1, addedTokens.map(\.id).max() ?? -1)
        var table = [String?](repeating: nil, count: maxId + 1)
        for (t, id) in vocab where id >= 0 { table[id] = t }
        for t in addedTokens where t.id >= 0 {
            // tokenizers reports a normalized added token by its normalized form (and decodes that).
            if t.normalized, let normalizer {
                table[t.id] = String(decoding: normalizer.normalize(Array(t.content.utf8)), as: UTF8.self)
            } else {
                table[t.id] = t.content
            }
            toId[t.content] = t.id
        }
        self.idToTokenTable = table
        self.tokenToIdTable = toId
        self.specialIds = Set(addedTokens.filter(\.special).map(\.id))

        let raw = addedTokens.filter { !$0.normalized }
        rawMatcher = AddedTokenMatcher(tokens: raw, patterns: raw.map { Array($0.content.utf8) })
        let norm = addedTokens.filter { $0.normalized }
        normalizedMatcher = AddedTokenMatcher(
            tokens: norm, patterns: norm.map { normalizer?.normalize(Array($0.content.utf8)) ?? Array($0.content.utf8) })
    }

    public func tokenToId(_ token: String) -> Int? { tokenToIdTable[token] }

    public func idToToken(_ id: Int) -> String? {
        id >= 0 && id < idToTokenTable.count ? idToTokenTable[id] : nil
    }

    // MARK: encoding

    public func encode(_ text: String, addSpecialTokens: Bool = true) -> [Int] {
        var out: [Int] = []
        var bytes = Array(text.utf8)
        out.reserveCapacity(bytes.count / 3 + 4)
        if rawMatcher.isEmpty {
            encodeSegment(&bytes, atTextStart: true, into: &out)
        } else {
            let pieces = bytes.withUnsafeBufferPointer { rawMatcher.split($0) }
            for piece in pieces {
                if let token = piece.token {
                    out.append(token.id)
                } else {
                    var segment = Array(bytes[piece.range])
                    encodeSegment(&segment, atTextStart: piece.range.lowerBound == 0, into: &out)
                }
            }
        }
        return postProcessor?.process(out, addSpecialTokens: addSpecialTokens) ?? out
    }

    /// Text between raw added tokens: normalize, find normalized added tokens, pre-tokenize, run the model.
    private func encodeSegment(_ bytes: inout [UInt8], atTextStart: Bool, into out: inout [Int]) {
        if let normalizer { bytes = normalizer.normalize(bytes) }
        if normalizedMatcher.isEmpty {
            encodeWords(&bytes, atTextStart: atTextStart, into: &out)
            return
        }
        let pieces = bytes.withUnsafeBufferPointer { normalizedMatcher.split($0) }
        for piece in pieces {
            if let token = piece.token {
                out.append(token.id)
            } else {
                var segment = Array(bytes[piece.range])
                encodeWords(&segment, atTextStart: atTextStart && piece.range.lowerBound == 0, into: &out)
            }
        }
    }

    private func encodeWords(_ buffer: inout [UInt8], atTextStart: Bool, into out: inout [Int]) {
        guard !buffer.isEmpty else { return }
        var pieces = [0..<buffer.count]
        preTokenizer?.run(&buffer, &pieces, atTextStart: atTextStart)
        buffer.withUnsafeBufferPointer { p in
            for r in pieces where !r.isEmpty { model.encodeWord(p, r, into: &out) }
        }
    }

    // MARK: decoding

    public func decode(_ ids: [Int], skipSpecialTokens: Bool = false) -> String {
        var tokens: [String] = []
        tokens.reserveCapacity(ids.count)
        for id in ids {
            if skipSpecialTokens && specialIds.contains(id) { continue }
            if let t = idToToken(id) { tokens.append(t) }
        }
        guard let decoder else { return tokens.joined(separator: " ") }
        return decoder.decode(tokens).joined()
    }
}
