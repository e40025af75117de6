import Foundation

/// Rewrites text before pre-tokenization (tokenizers' normalizers), on UTF-8 bytes.
indirect enum Normalizer: Sendable {
    case nfc, nfd, nfkc, nfkd
    case lowercase
    case strip(left: Bool, right: Bool)
    case replace(SplitPattern, [UInt8])
    case prepend([UInt8])
    case sequence([Normalizer])

    static func parse(_ j: JSONNode) throws -> Normalizer {
        let type = try j.type(of: "normalizer")
        switch type {
        case "NFC": return .nfc
        case "NFD": return .nfd
        case "NFKC": return .nfkc
        case "NFKD": return .nfkd
        case "Lowercase": return .lowercase
        case "Strip": return .strip(left: j.bool("strip_left", default: true), right: j.bool("strip_right", default: true))
        case "Prepend": return .prepend(Array(try j.requiredString("prepend").utf8))
        case "Replace":
            let pattern = try j.required("pattern")
            let content = Array(try j.requiredString("content").utf8)
            if let s = pattern["String"]?.string { return .replace(.literal(Array(s.utf8)), content) }
            if let r = pattern["Regex"]?.string { return .replace(try .regex(r), content) }
            throw TokenizerError.invalidJSON("\(pattern.path) must hold String or Regex")
        case "Sequence":
            return .sequence(try j.requiredArray("normalizers").map(parse))
        default:
            throw TokenizerError.unsupported(component: "normalizer", type: type)
        }
    }

    func normalize(_ bytes: [UInt8]) -> [UInt8] {
        switch self {
        case .sequence(let items):
            var b = bytes
            for item in items { b = item.normalize(b) }
            return b
        case .nfc:
            return Self.nfc(bytes)
        case .nfd:
            if bytes.allSatisfy({ $0 < 0x80 }) { return bytes }
            return Array(String(decoding: bytes, as: UTF8.self).decomposedStringWithCanonicalMapping.utf8)
        case .nfkc:
            if bytes.allSatisfy({ $0 < 0x80 }) { return bytes }
            return Array(String(decoding: bytes, as: UTF8.self).precomposedStringWithCompatibilityMapping.utf8)
        case .nfkd:
            if bytes.allSatisfy({ $0 < 0x80 }) { return bytes }
            return Array(String(decoding: bytes, as: UTF8.self).decomposedStringWithCompatibilityMapping.utf8)
        case .lowercase:
            if bytes.allSatisfy({ $0 < 0x80 }) {
                return bytes.map { $0 >= 0x41 && $0 <= 0x5A ? $0 | 0x20 : $0 }
            }
            return Array(String(decoding: bytes, as: UTF8.self).lowercased().utf8)
        case .strip(let left, let right):
            var s = Substring(String(decoding: bytes, as: UTF8.self))
            if left { s = s.drop(while: { $0.unicodeScalars.allSatisfy { $0.properties.isWhitespace } }) }
            if right {
                while let last = s.unicodeScalars.last, last.properties.isWhitespace { s = Substring(s.unicodeScalars.dropLast()) }
            }
            return Array(s.utf8)
        case .prepend(let prefix):
            return bytes.isEmpty ? bytes : prefix + bytes
        case .replace(let pattern, let content):
            var found: [Range<Int>] = []
            bytes.withUnsafeBufferPointer { pattern.matches($0, 0, bytes.count, into: &found) }
            if found.isEmpty { return bytes }
            var out: [UInt8] = []
            out.reserveCapacity(bytes.count)
            var prev = 0
            for r in found {
                out.append(contentsOf: bytes[prev..<r.lowerBound])
                out.append(contentsOf: content)
                prev = r.upperBound
            }
            out.append(contentsOf: bytes[prev...])
            return out
        }
    }

    /// A scalar NFC leaves alone whatever surrounds it, and that never composes with what precedes it:
    /// below U+0300 or in a block without combining marks, singleton decompositions or composition
    /// exclusions (CJK ideographs, kana, Hangul syllables (conjoining jamo are not listed), Cyrillic,
    /// fullwidth forms, punctuation, emoji).
    @inline(__always)
    static func isNFCInert(_ s: UInt32) -> Bool {
        s < 0x300 || (0x4E00...0x9FFF).contains(s) || (0x3000...0x3029).contains(s) || (0x3041...0x3098).contains(s)
            || (0x309B...0x30FF).contains(s) || (0xFF01...0xFF9D).contains(s) || (0x1F300...0x1FAFF).contains(s)
            || (0x0400...0x0482).contains(s) || (0x048A...0x052F).contains(s) || (0xAC00...0xD7A3).contains(s)
            || (0x2010...0x2027).contains(s) || (0x2030...0x205E).contains(s) || (0x2600...0x27BF).contains(s)
            || (0xFE00...0xFE0F).contains(s) || (0x200B...0x200F).contains(s)
    }

    /// NFC that hands Foundation only the spans that need it: each run of non-inert scalars together
    /// with the scalar before it (the base a combining mark may compose with).
    static func nfc(_ bytes: [UInt8]) -> [UInt8] {
        bytes.withUnsafeBufferPointer { p in
            let n = p.count
            var out: [UInt8] = []
            var copied = 0
            var previousStart = 0
            var i = 0
            while i < n {
                if p[i] < 0x80 {
                    previousStart = i
                    i += 1
                    continue
                }
                let (s, len) = decodeScalar(p, i, n)
                if isNFCInert(s) {
                    previousStart = i
                    i += len
                    continue
                }
                let runStart = i > copied ? max(previousStart, copied) : copied
                var runEnd = i + len
                while runEnd < n {
                    let (t, l) = decodeScalar(p, runEnd, n)
                    if isNFCInert(t) { break }
                    runEnd += l
                }
                if out.isEmpty { out.reserveCapacity(n + 16) }
                out.append(contentsOf: p[copied..<runStart])
                let span = String(decoding: UnsafeBufferPointer(rebasing: p[runStart..<runEnd]), as: UTF8.self)
                out.append(contentsOf: span.precomposedStringWithCanonicalMapping.utf8)
                copied = runEnd
                previousStart = runEnd
                i = runEnd
            }
            if copied == 0 { return bytes }
            out.append(contentsOf: p[copied..<n])
            return out
        }
    }
}
