import Foundation

/// Metaspace's choice of where to put the replacement character in front of a piece.
enum PrependScheme: String, Sendable {
    case always, first, never
}

/// Cuts normalized text into words before the model sees them. The working state is one byte buffer
/// and the byte ranges of its pieces; only pre-tokenizers that change bytes (Metaspace, ByteLevel's prefix
/// space) write a new buffer.
indirect enum PreTokenizer: Sendable {
    /// Byte-level: the model sees bytes, so the byte-to-character mapping itself is implicit.
    case byteLevel(addPrefixSpace: Bool, useRegex: Bool)
    case split(SplitPattern, SplitBehavior, invert: Bool)
    case metaspace(replacement: [UInt8], prependScheme: PrependScheme, split: Bool)
    case sequence([PreTokenizer])

    static let metaspaceReplacement: [UInt8] = Array("▁".utf8)

    static func parse(_ j: JSONNode) throws -> PreTokenizer {
        let type = try j.type(of: "pre_tokenizer")
        switch type {
        case "ByteLevel":
            return .byteLevel(addPrefixSpace: j.bool("add_prefix_space", default: true), useRegex: j.bool("use_regex", default: true))
        case "Split":
            let pattern = try j.required("pattern")
            let split: SplitPattern
            if let s = pattern["String"]?.string {
                split = .literal(Array(s.utf8))
            } else if let r = pattern["Regex"]?.string {
                split = try .regex(r)
            } else {
                throw TokenizerError.invalidJSON("\(pattern.path) must hold String or Regex")
            }
            let behaviorName = j.string("behavior", default: "Isolated")
            guard let behavior = SplitBehavior(rawValue: behaviorName) else {
                throw TokenizerError.unsupported(component: "split behavior", type: behaviorName)
            }
            return .split(split, behavior, invert: j.bool("invert", default: false))
        case "Digits":
            return .split(.scalars { ScalarClass.of($0).contains(.number) },
                          j.bool("individual_digits", default: false) ? .isolated : .contiguous, invert: false)
        case "Metaspace":
            let replacement = j.string("replacement", default: "▁")
            var scheme = PrependScheme.always
            if let s = j["prepend_scheme"]?.string {
                guard let p = PrependScheme(rawValue: s) else { throw TokenizerError.unsupported(component: "prepend_scheme", type: s) }
                scheme = p
            } else if let add = j["add_prefix_space"]?.bool {
                scheme = add ? .always : .never
            }
            return .metaspace(replacement: Array(replacement.utf8), prependScheme: scheme, split: j.bool("split", default: true))
        case "Whitespace":
            return .split(try .regex(#"\w+|[^\w\s]+"#), .removed, invert: true)
        case "WhitespaceSplit":
            return .split(.scalars { ScalarClass.of($0).contains(.whitespace) }, .removed, invert: false)
        case "Punctuation":
            let name = j.string("behavior", default: "Isolated")
            guard let behavior = SplitBehavior(rawValue: name) else { throw TokenizerError.unsupported(component: "split behavior", type: name) }
            return .split(.scalars(isPunctuation), behavior, invert: false)
        case "BertPreTokenizer":
            return .sequence([
                .split(.scalars { ScalarClass.of($0).contains(.whitespace) }, .removed, invert: false),
                .split(.scalars(isPunctuation), .isolated, invert: false),
            ])
        case "CharDelimiterSplit":
            return .split(.literal(Array(try j.requiredString("delimiter").utf8)), .removed, invert: false)
        case "Sequence":
            return .sequence(try j.requiredArray("pretokenizers").map(parse))
        default:
            throw TokenizerError.unsupported(component: "pre_tokenizer", type: type)
        }
    }

    /// Rust's `is_ascii_punctuation() || is_punctuation()`.
    static let isPunctuation: @Sendable (UInt32) -> Bool = { v in
        if v < 0x80 {
            return (0x21...0x2F).contains(v) || (0x3A...0x40).contains(v) || (0x5B...0x60).contains(v) || (0x7B...0x7E).contains(v)
        }
        return ScalarClass.of(v).contains(.punctuation)
    }

    var usesByteLevel: Bool {
        switch self {
        case .byteLevel: return true
        case .sequence(let items): return items.contains { $0.usesByteLevel }
        default: return false
        }
    }

    /// Splits (and where needed rewrites) the pieces. `atTextStart` says whether the piece starting at
    /// offset 0 of `buf` is the start of the whole input (Metaspace's `first` scheme).
    func run(_ buf: inout [UInt8], _ pieces: inout [Range<Int>], atTextStart: Bool) {
        switch self {
        case .sequence(let items):
            for item in items { item.run(&buf, &pieces, atTextStart: atTextStart) }
        case .split(let pattern, let behavior, let invert):
            splitPieces(buf, &pieces) { p, r, out in
                var found: [Range<Int>] = []
                pattern.matches(p, r.lowerBound, r.upperBound, into: &found)
                behavior.apply(matches: found, start: r.lowerBound, end: r.upperBound, invert: invert, into: &out)
            }
        case .byteLevel(let addPrefixSpace, let useRegex):
            if addPrefixSpace && pieces.contains(where: { buf[$0.lowerBound] != 0x20 }) {
                rewrite(&buf, &pieces) { old, r, new in
                    if old[r.lowerBound] != 0x20 { new.append(0x20) }
                    new.append(contentsOf: old[r])
                }
            }
            if useRegex {
                splitPieces(buf, &pieces) { p, r, out in
                    SplitPattern.matchGPT2(p, r.lowerBound, r.upperBound, &out)
                }
            }
        case .metaspace(let replacement, let scheme, let split):
            rewrite(&buf, &pieces) { old, r, new in
                let startsWithReplacement = old[r.lowerBound] == 0x20 || old[r].starts(with: replacement)
                let isFirst = atTextStart && r.lowerBound == 0
                if !startsWithReplacement && (scheme == .always || (scheme == .first && isFirst)) {
                    new.append(contentsOf: replacement)
                }
                for b in old[r] {
                    if b == 0x20 { new.append(contentsOf: replacement) } else { new.append(b) }
                }
            }
            if split {
                splitPieces(buf, &pieces) { p, r, out in
                    var found: [Range<Int>] = []
                    SplitPattern.matchLiteral(replacement, p, r.lowerBound, r.upperBound, &found)
                    SplitBehavior.mergedWithNext.apply(matches: found, start: r.lowerBound, end: r.upperBound, invert: false, into: &out)
                }
            }
        }
    }

    private func splitPieces(_ buf: [UInt8], _ pieces: inout [Range<Int>],
                             _ body: (UnsafeBufferPointer<UInt8>, Range<Int>, inout [Range<Int>]) -> Void) {
        var out: [Range<Int>] = []
        out.reserveCapacity(pieces.count * 4)
        buf.withUnsafeBufferPointer { p in
            for r in pieces { body(p, r, &out) }
        }
        pieces = out
    }

    private func rewrite(_ buf: inout [UInt8], _ pieces: inout [Range<Int>], _ body: ([UInt8], Range<Int>, inout [UInt8]) -> Void) {
        var new: [UInt8] = []
        new.reserveCapacity(buf.count + pieces.count * 3)
        var newPieces: [Range<Int>] = []
        newPieces.reserveCapacity(pieces.count)
        for r in pieces {
            let s = new.count
            body(buf, r, &new)
            if new.count > s { newPieces.append(s..<new.count) }
        }
        buf = new
        pieces = newPieces
    }
}
