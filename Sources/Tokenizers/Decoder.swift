import Foundation

/// Turns token strings back into text (tokenizers' decoders). Each step maps a list of strings to a list.
indirect enum Decoder: Sendable {
    case byteLevel
    case metaspace(replacement: String, prependScheme: PrependScheme)
    case byteFallback
    case fuse
    case strip(content: Unicode.Scalar, start: Int, stop: Int)
    case replace(SplitPattern, [UInt8])
    case sequence([Decoder])

    static func parse(_ j: JSONNode) throws -> Decoder {
        let type = try j.type(of: "decoder")
        switch type {
        case "ByteLevel": return .byteLevel
        case "ByteFallback": return .byteFallback
        case "Fuse": return .fuse
        case "Metaspace":
            var scheme = PrependScheme.always
            if let s = j["prepend_scheme"]?.string {
                guard let p = PrependScheme(rawValue: s) else { throw TokenizerError.unsupported(component: "prepend_scheme", type: s) }
                scheme = p
            } else if let add = j["add_prefix_space"]?.bool {
                scheme = add ? .always : .never
            }
            return .metaspace(replacement: j.string("replacement", default: "▁"), prependScheme: scheme)
        case "Strip":
            let content = j.string("content", default: " ")
            guard let c = content.unicodeScalars.first, content.unicodeScalars.count == 1 else { throw TokenizerError.invalidJSON("\(j.path).content must be one character") }
            return .strip(content: c, start: j.int("start", default: 0), stop: j.int("stop", default: 0))
        case "Replace":
            guard case .replace(let p, let c) = try Normalizer.parse(j) else { fatalError("unreachable") }
            return .replace(p, c)
        case "Sequence":
            return .sequence(try j.requiredArray("decoders").map(parse))
        default:
            throw TokenizerError.unsupported(component: "decoder", type: type)
        }
    }

    func decode(_ tokens: [String]) -> [String] {
        switch self {
        case .sequence(let items):
            return items.reduce(tokens) { $1.decode($0) }
        case .byteLevel:
            var bytes: [UInt8] = []
            for t in tokens {
                if let b = ByteLevelAlphabet.bytes(of: t) { bytes.append(contentsOf: b) } else { bytes.append(contentsOf: t.utf8) }
            }
            return [String(decoding: bytes, as: UTF8.self)]
        case .metaspace(let replacement, let scheme):
            let r = replacement.unicodeScalars.first!
            return tokens.enumerated().map { i, t in
                var out = String.UnicodeScalarView()
                for s in t.unicodeScalars {
                    if s == r {
                        if i == 0 && scheme != .never { continue }
                        out.append(" ")
                    } else {
                        out.append(s)
                    }
                }
                return String(out)
            }
        case .byteFallback:
            var out: [String] = []
            var pending: [UInt8] = []
            func flush() {
                guard !pending.isEmpty else { return }
                if let s = String(validating: pending, as: UTF8.self) {
                    out.append(s)
                } else {
                    out.append(contentsOf: repeatElement("\u{FFFD}", count: pending.count))
                }
                pending.removeAll()
            }
            for t in tokens {
                let u = Array(t.utf8)
                if u.count == 6, u[0] == 0x3C, u[1] == 0x30, u[2] == 0x78, u[5] == 0x3E,
                   let b = UInt8(String(decoding: u[3..<5], as: UTF8.self), radix: 16) {
                    pending.append(b)
                } else {
                    flush()
                    out.append(t)
                }
            }
            flush()
            return out
        case .fuse:
            return [tokens.joined()]
        case .strip(let content, let start, let stop):
            return tokens.map { t in
                let chars = Array(t.unicodeScalars)
                var a = 0
                while a < min(start, chars.count), chars[a] == content { a += 1 }
                var b = chars.count
                var k = 0
                while k < stop, b > a, chars[b - 1] == content { b -= 1; k += 1 }
                var v = String.UnicodeScalarView()
                v.append(contentsOf: chars[a..<b])
                return String(v)
            }
        case .replace(let pattern, let content):
            return tokens.map { String(decoding: Normalizer.replace(pattern, content).normalize(Array($0.utf8)), as: UTF8.self) }
        }
    }
}
