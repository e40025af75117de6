/// A JSON value parsed from a prefix of JSON text that may stop anywhere (a model still writing
/// its tool call), in the spirit of the `partial_json_parser` package vLLM uses. Members keep
/// their order, numbers keep their spelling.
indirect enum PartialJSON: Sendable, Equatable {
    struct Member: Sendable, Equatable {
        var key: String
        /// nil when the key is complete but its value has not started.
        var value: PartialJSON?
    }

    case object([Member], complete: Bool)
    case array([PartialJSON], complete: Bool)
    case string(String, complete: Bool)
    case number(String, complete: Bool)
    /// `true`, `false` or `null`, spelled in full; incomplete while only a prefix has arrived.
    case literal(String, complete: Bool)

    var isComplete: Bool {
        switch self {
        case .object(_, let c), .array(_, let c), .string(_, let c), .number(_, let c), .literal(_, let c): c
        }
    }

    /// The value of the first member named `key` of an object: `.some(nil)` when the key is
    /// there but its value has not started, nil when there is no such key (yet).
    func member(_ key: String) -> PartialJSON?? {
        guard case .object(let members, _) = self, let m = members.first(where: { $0.key == key }) else { return nil }
        return .some(m.value)
    }

    /// Parses a JSON text prefix. Returns nil while the text is only whitespace; throws when the
    /// text can never become valid JSON (including anything but whitespace after a complete value).
    static func parse<S: StringProtocol>(_ text: S, textIsComplete: Bool = false) throws -> PartialJSON? {
        var parser = PartialJSONParser(bytes: Array(text.utf8), textIsComplete: textIsComplete)
        let value = try parser.parseValue()
        if let value, value.isComplete {
            parser.skipWhitespace()
            if !parser.atEnd { throw PartialJSONError.malformed(offset: parser.pos) }
        }
        return value
    }

    /// Parses text that must be one complete JSON value.
    static func parseComplete<S: StringProtocol>(_ text: S) -> PartialJSON? {
        guard let value = try? parse(text, textIsComplete: true), value.isComplete else { return nil }
        return value
    }
}

enum PartialJSONError: Error, Equatable {
    case malformed(offset: Int)
}

struct PartialJSONParser {
    let bytes: [UInt8]
    /// No more text will come: a number at the very end is finished.
    let textIsComplete: Bool
    var pos = 0

    init(bytes: [UInt8], textIsComplete: Bool = false) {
        self.bytes = bytes
        self.textIsComplete = textIsComplete
    }

    var atEnd: Bool { pos >= bytes.count }

    mutating func skipWhitespace() {
        while pos < bytes.count, bytes[pos] == 0x20 || bytes[pos] == 0x0A || bytes[pos] == 0x0D || bytes[pos] == 0x09 {
            pos += 1
        }
    }

    private func fail() -> PartialJSONError { .malformed(offset: pos) }

    /// nil when the input ends before the value starts.
    mutating func parseValue() throws -> PartialJSON? {
        skipWhitespace()
        guard !atEnd else { return nil }
        switch bytes[pos] {
        case UInt8(ascii: "{"): return try parseObject()
        case UInt8(ascii: "["): return try parseArray()
        case UInt8(ascii: "\""): return try parseString()
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try parseNumber()
        case UInt8(ascii: "t"): return try parseLiteral("true")
        case UInt8(ascii: "f"): return try parseLiteral("false")
        case UInt8(ascii: "n"): return try parseLiteral("null")
        default: throw fail()
        }
    }

    private mutating func parseObject() throws -> PartialJSON {
        pos += 1
        var members: [PartialJSON.Member] = []
        skipWhitespace()
        if atEnd { return .object(members, complete: false) }
        if bytes[pos] == UInt8(ascii: "}") { pos += 1; return .object(members, complete: true) }
        while true {
            skipWhitespace()
            if atEnd { return .object(members, complete: false) }
            guard bytes[pos] == UInt8(ascii: "\"") else { throw fail() }
            guard case .string(let key, true) = try parseString() else { return .object(members, complete: false) }
            skipWhitespace()
            if atEnd { return .object(members + [.init(key: key, value: nil)], complete: false) }
            guard bytes[pos] == UInt8(ascii: ":") else { throw fail() }
            pos += 1
            guard let value = try parseValue() else { return .object(members + [.init(key: key, value: nil)], complete: false) }
            members.append(.init(key: key, value: value))
            if !value.isComplete { return .object(members, complete: false) }
            skipWhitespace()
            if atEnd { return .object(members, complete: false) }
            switch bytes[pos] {
            case UInt8(ascii: ","): pos += 1
            case UInt8(ascii: "}"): pos += 1; return .object(members, complete: true)
            default: throw fail()
            }
        }
    }

    private mutating func parseArray() throws -> PartialJSON {
        pos += 1
        var elements: [PartialJSON] = []
        skipWhitespace()
        if atEnd { return .array(elements, complete: false) }
        if bytes[pos] == UInt8(ascii: "]") { pos += 1; return .array(elements, complete: true) }
        while true {
            guard let element = try parseValue() else { return .array(elements, complete: false) }
            elements.append(element)
            if !element.isComplete { return .array(elements, complete: false) }
            skipWhitespace()
            if atEnd { return .array(elements, complete: false) }
            switch bytes[pos] {
            case UInt8(ascii: ","): pos += 1
            case UInt8(ascii: "]"): pos += 1; return .array(elements, complete: true)
            default: throw fail()
            }
        }
    }

    private func hexValue(_ at: Int) -> UInt32? {
        guard at + 4 <= bytes.count else { return nil }
        var v: UInt32 = 0
        for b in bytes[at..<at + 4] {
            let d: UInt8
            switch b {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): d = b - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): d = b - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): d = b - UInt8(ascii: "A") + 10
            default: return UInt32.max
            }
            v = v * 16 + UInt32(d)
        }
        return v
    }

    /// Decodes a string; an incomplete escape at the end of the input is left out of the value.
    /// Raw control characters are accepted (models write raw newlines in code arguments).
    private mutating func parseString() throws -> PartialJSON {
        pos += 1
        var out = ""
        var runStart = pos
        func flush(_ end: Int) { if end > runStart { out += String(decoding: bytes[runStart..<end], as: UTF8.self) } }
        while pos < bytes.count {
            let b = bytes[pos]
            if b == UInt8(ascii: "\"") {
                flush(pos)
                pos += 1
                return .string(out, complete: true)
            }
            guard b == UInt8(ascii: "\\") else { pos += 1; continue }
            flush(pos)
            guard pos + 1 < bytes.count else { pos = bytes.count; return .string(out, complete: false) }
            let e = bytes[pos + 1]
            var scalar: Unicode.Scalar
            var length = 2
            switch e {
            case UInt8(ascii: "\""): scalar = "\""
            case UInt8(ascii: "\\"): scalar = "\\"
            case UInt8(ascii: "/"): scalar = "/"
            case UInt8(ascii: "b"): scalar = "\u{08}"
            case UInt8(ascii: "f"): scalar = "\u{0C}"
            case UInt8(ascii: "n"): scalar = "\n"
            case UInt8(ascii: "r"): scalar = "\r"
            case UInt8(ascii: "t"): scalar = "\t"
            case UInt8(ascii: "u"):
                guard let code = hexValue(pos + 2) else { pos = bytes.count; return .string(out, complete: false) }
                guard code != UInt32.max else { throw fail() }
                length = 6
                if (0xD800..<0xDC00).contains(code) {
                    // A high surrogate needs its low half: wait for it, or replace a lone one.
                    let next = pos + 6
                    let available = bytes.count - next
                    let slash = available >= 1 && bytes[next] == UInt8(ascii: "\\")
                    let u = slash && available >= 2 && bytes[next + 1] == UInt8(ascii: "u")
                    if available == 0 || (slash && available == 1) || (u && available < 6) {
                        pos = bytes.count
                        return .string(out, complete: false)
                    }
                    if u, let low = hexValue(next + 2), (0xDC00..<0xE000).contains(low) {
                        scalar = Unicode.Scalar(0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00))!
                        length = 12
                    } else {
                        scalar = "\u{FFFD}"
                    }
                } else {
                    scalar = Unicode.Scalar(code) ?? "\u{FFFD}"
                }
            default: throw fail()
            }
            out.unicodeScalars.append(scalar)
            pos += length
            runStart = pos
        }
        flush(pos)
        return .string(out, complete: false)
    }

    private mutating func parseNumber() throws -> PartialJSON {
        let start = pos
        while pos < bytes.count, "0123456789+-.eE".utf8.contains(bytes[pos]) { pos += 1 }
        let raw = String(decoding: bytes[start..<pos], as: UTF8.self)
        if atEnd && !textIsComplete { return .number(raw, complete: false) }  // more digits may follow
        guard Self.isValidNumber(bytes[start..<pos]) else { throw fail() }
        return .number(raw, complete: true)
    }

    /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`
    static func isValidNumber(_ n: ArraySlice<UInt8>) -> Bool {
        var i = n.startIndex
        func digits() -> Int { var c = 0; while i < n.endIndex, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(n[i]) { i += 1; c += 1 }; return c }
        if i < n.endIndex, n[i] == UInt8(ascii: "-") { i += 1 }
        guard i < n.endIndex else { return false }
        if n[i] == UInt8(ascii: "0") { i += 1 } else if digits() == 0 { return false }
        if i < n.endIndex, n[i] == UInt8(ascii: ".") { i += 1; if digits() == 0 { return false } }
        if i < n.endIndex, n[i] == UInt8(ascii: "e") || n[i] == UInt8(ascii: "E") {
            i += 1
            if i < n.endIndex, n[i] == UInt8(ascii: "+") || n[i] == UInt8(ascii: "-") { i += 1 }
            if digits() == 0 { return false }
        }
        return i == n.endIndex
    }

    private mutating func parseLiteral(_ word: String) throws -> PartialJSON {
        for expected in word.utf8 {
            if atEnd { return .literal(word, complete: false) }
            guard bytes[pos] == expected else { throw fail() }
            pos += 1
        }
        return .literal(word, complete: true)
    }
}
