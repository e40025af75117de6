import Foundation

extension Value {
    /// A value from decoded JSON (`JSONSerialization` output or plain Swift dictionaries, arrays and scalars).
    /// Dictionary key order follows the input where it has one; `[String: Any]` has none, so its keys are sorted.
    public init(json: Any?) {
        guard let json else { self = .none; return }
        switch json {
        case let v as Value: self = v
        case is NSNull: self = .none
        case let s as String: self = .string(s)
        case let n as NSNumber:
            // JSONSerialization gives NSNumber for booleans and numbers alike; the objCType tells them apart.
            let t = String(cString: n.objCType)
            if t == "c" || t == "B" { self = .bool(n.boolValue) }
            else if Value.isFloatingType(n) { self = .float(n.doubleValue) }
            else { self = .int(n.intValue) }
        case let b as Bool: self = .bool(b)
        case let i as Int: self = .int(i)
        case let d as Double: self = .float(d)
        case let a as [Any?]: self = .list(a.map { Value(json: $0) })
        case let a as [Any]: self = .list(a.map { Value(json: $0) })
        case let d as KeyValuePairs<String, Any>:
            self = .dict(d.map { ($0.key, Value(json: $0.value)) })
        case let d as [String: Any?]:
            self = .dict(d.keys.sorted().map { ($0, Value(json: d[$0] ?? nil)) })
        case let d as [String: Any]:
            self = .dict(d.keys.sorted().map { ($0, Value(json: d[$0])) })
        default: self = .string(String(describing: json))
        }
    }

    private static func isFloatingType(_ n: NSNumber) -> Bool {
        let t = String(cString: n.objCType)
        return t == "d" || t == "f"
    }

    /// A value from JSON text, keeping the key order of objects as written.
    public init(jsonData: Data) throws {
        guard let text = String(data: jsonData, encoding: .utf8) else {
            throw TemplateError(line: 0, column: 0, message: "JSON is not valid UTF-8")
        }
        var reader = JSONReader(text)
        self = try reader.parseDocument()
    }

    public init(jsonString: String) throws {
        var reader = JSONReader(jsonString)
        self = try reader.parseDocument()
    }
}

extension Value: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral,
    ExpressibleByBooleanLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral, ExpressibleByNilLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int) { self = .int(value) }
    public init(floatLiteral value: Double) { self = .float(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(arrayLiteral elements: Value...) { self = .list(elements) }
    public init(dictionaryLiteral elements: (String, Value)...) { self = .dict(elements) }
    public init(nilLiteral: ()) { self = .none }
}

/// A small JSON parser that keeps object key order (Foundation's does not), since templates
/// iterate tool schemas and `tojson` prints them in the order the client sent.
struct JSONReader {
    let s: [UInt8]
    var i = 0
    init(_ text: String) { s = Array(text.utf8) }

    mutating func parseDocument() throws -> Value {
        let v = try parse(depth: 0)
        skipWS()
        if i != s.count { throw fail("trailing characters") }
        return v
    }

    func fail(_ m: String) -> TemplateError { TemplateError(line: 0, column: i, message: "invalid JSON: \(m)") }

    mutating func skipWS() {
        while i < s.count, s[i] == 0x20 || s[i] == 0x0A || s[i] == 0x0D || s[i] == 0x09 { i += 1 }
    }

    mutating func parse(depth: Int) throws -> Value {
        if depth > 512 { throw fail("nested too deeply") }
        skipWS()
        guard i < s.count else { throw fail("unexpected end") }
        switch s[i] {
        case UInt8(ascii: "{"):
            i += 1
            let d = DictStorage()
            skipWS()
            if i < s.count, s[i] == UInt8(ascii: "}") { i += 1; return .dict(d) }
            while true {
                skipWS()
                guard i < s.count, s[i] == UInt8(ascii: "\"") else { throw fail("expected key") }
                let k = try parseString()
                skipWS()
                guard i < s.count, s[i] == UInt8(ascii: ":") else { throw fail("expected ':'") }
                i += 1
                d[.string(k)] = try parse(depth: depth + 1)
                skipWS()
                guard i < s.count else { throw fail("unexpected end") }
                if s[i] == UInt8(ascii: ",") { i += 1; continue }
                if s[i] == UInt8(ascii: "}") { i += 1; return .dict(d) }
                throw fail("expected ',' or '}'")
            }
        case UInt8(ascii: "["):
            i += 1
            var items: [Value] = []
            skipWS()
            if i < s.count, s[i] == UInt8(ascii: "]") { i += 1; return .list(items) }
            while true {
                items.append(try parse(depth: depth + 1))
                skipWS()
                guard i < s.count else { throw fail("unexpected end") }
                if s[i] == UInt8(ascii: ",") { i += 1; continue }
                if s[i] == UInt8(ascii: "]") { i += 1; return .list(items) }
                throw fail("expected ',' or ']'")
            }
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .none
        default: return try parseNumber()
        }
    }

    mutating func literal(_ word: String) throws {
        let w = Array(word.utf8)
        guard i + w.count <= s.count, Array(s[i..<i + w.count]) == w else { throw fail("unexpected token") }
        i += w.count
    }

    mutating func parseNumber() throws -> Value {
        let start = i
        var isFloat = false
        if i < s.count, s[i] == UInt8(ascii: "-") { i += 1 }
        while i < s.count {
            let c = s[i]
            if c >= 0x30 && c <= 0x39 { i += 1 }
            else if c == UInt8(ascii: ".") || c == UInt8(ascii: "e") || c == UInt8(ascii: "E")
                || c == UInt8(ascii: "+") || c == UInt8(ascii: "-") { isFloat = true; i += 1 }
            else { break }
        }
        let text = String(decoding: s[start..<i], as: UTF8.self)
        if !isFloat, let n = Int(text) { return .int(n) }
        guard let d = Double(text), !text.isEmpty, text != "-" else { throw fail("bad number '\(text)'") }
        return .float(d)
    }

    mutating func parseString() throws -> String {
        i += 1
        var out = [UInt8]()
        while true {
            guard i < s.count else { throw fail("unterminated string") }
            let c = s[i]
            i += 1
            if c == UInt8(ascii: "\"") { break }
            if c != UInt8(ascii: "\\") { out.append(c); continue }
            guard i < s.count else { throw fail("unterminated string") }
            let e = s[i]
            i += 1
            switch e {
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "u"):
                var code = try hex4()
                if code >= 0xD800 && code < 0xDC00, i + 1 < s.count, s[i] == UInt8(ascii: "\\"), s[i + 1] == UInt8(ascii: "u") {
                    i += 2
                    let low = try hex4()
                    code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                }
                let scalar = Unicode.Scalar(code) ?? "\u{FFFD}"
                out.append(contentsOf: Array(String(Character(scalar)).utf8))
            default: out.append(e)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    mutating func hex4() throws -> UInt32 {
        guard i + 4 <= s.count, let v = UInt32(String(decoding: s[i..<i + 4], as: UTF8.self), radix: 16) else {
            throw fail("bad \\u escape")
        }
        i += 4
        return v
    }
}
