import Foundation

extension Value {
    /// Python's `str()` of the value: what `{{ x }}` prints.
    public var pythonString: String {
        switch self {
        case .undefined: return ""
        case .string(let s): return s
        default: return pythonRepr
        }
    }

    /// Python's `repr()`: how values print inside lists and dicts.
    public var pythonRepr: String { repr(depth: 0) }

    private func repr(depth: Int) -> String {
        // Python prints a container that contains itself as `[...]`; a depth cap keeps us from recursing forever.
        if depth > 200 {
            switch self {
            case .list: return "[...]"
            case .dict, .namespace: return "{...}"
            default: break
            }
        }
        let r = { (v: Value) in v.repr(depth: depth + 1) }
        switch self {
        case .undefined: return "Undefined"
        case .none: return "None"
        case .bool(let b): return b ? "True" : "False"
        case .int(let i): return String(i)
        case .float(let d): return Value.formatFloat(d)
        case .string(let s): return Value.reprString(s)
        case .list(let l): return "[" + l.items.map(r).joined(separator: ", ") + "]"
        case .tuple(let t):
            if t.count == 1 { return "(" + r(t[0]) + ",)" }
            return "(" + t.map(r).joined(separator: ", ") + ")"
        case .dict(let d):
            return "{" + d.pairs.map { r($0.key) + ": " + r($0.value) }.joined(separator: ", ") + "}"
        case .namespace(let d):
            return "<Namespace {" + d.pairs.map { r($0.key) + ": " + r($0.value) }.joined(separator: ", ") + "}>"
        case .function(let f): return "<function \(f.name)>"
        }
    }

    /// Python float repr: shortest round-trip digits, `1.0` for integral values, exponent outside [1e-4, 1e16).
    static func formatFloat(_ d: Double) -> String {
        if d.isNaN { return "nan" }
        if d.isInfinite { return d < 0 ? "-inf" : "inf" }
        // Swift's description follows the same shortest-digits rule and switch points as Python's repr.
        return d.description
    }

    static func reprString(_ s: String) -> String {
        let quote: Character = s.contains("'") && !s.contains("\"") ? "\"" : "'"
        var out = String(quote)
        for u in s.unicodeScalars {
            switch u {
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if Character(u) == quote { out += "\\" + String(quote) }
                else if u.value < 0x20 || u.value == 0x7F { out += String(format: "\\x%02x", u.value) }
                else { out.unicodeScalars.append(u) }
            }
        }
        out.append(quote)
        return out
    }
}

/// `json.dumps` as transformers' `tojson` filter calls it.
struct JSONDumper {
    var ensureASCII = false
    var indent: String? = nil
    var itemSeparator = ", "
    var keySeparator = ": "
    var sortKeys = false
    var explicitSeparators = false

    func dump(_ v: Value) throws -> String {
        var out = ""
        try write(v, into: &out, level: 0)
        return out
    }

    private func write(_ v: Value, into out: inout String, level: Int) throws {
        if level > 500 { throw TemplateError(message: "tojson: value nested too deeply") }
        switch v {
        case .none: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .int(let i): out += String(i)
        case .float(let d):
            if d.isNaN { out += "NaN" } else if d.isInfinite { out += d < 0 ? "-Infinity" : "Infinity" }
            else { out += Value.formatFloat(d) }
        case .string(let s): writeString(s, into: &out)
        case .list(let l): try writeArray(l.items, into: &out, level: level)
        case .tuple(let t): try writeArray(t, into: &out, level: level)
        case .dict(let d), .namespace(let d):
            if d.count == 0 { out += "{}"; return }
            var pairs = try d.pairs.map { (try keyString($0.key), $0.value) }
            if sortKeys { pairs.sort { $0.0.unicodeScalars.lexicographicallyPrecedes($1.0.unicodeScalars) } }
            out += "{"
            for (n, (k, value)) in pairs.enumerated() {
                if n > 0 { out += separator }
                newline(into: &out, level: level + 1)
                writeString(k, into: &out)
                out += keySeparator
                try write(value, into: &out, level: level + 1)
            }
            newline(into: &out, level: level)
            out += "}"
        case .undefined(let u):
            throw TemplateError(message: "Object of type Undefined is not JSON serializable (\(u.message))")
        case .function:
            throw TemplateError(message: "Object of type function is not JSON serializable")
        }
    }

    private var separator: String {
        // With an indent, Python drops the trailing space of the default item separator.
        indent != nil && !explicitSeparators ? "," : itemSeparator
    }

    private func newline(into out: inout String, level: Int) {
        guard let indent else { return }
        out += "\n" + String(repeating: indent, count: level)
    }

    private func writeArray(_ items: [Value], into out: inout String, level: Int) throws {
        if items.isEmpty { out += "[]"; return }
        out += "["
        for (n, item) in items.enumerated() {
            if n > 0 { out += separator }
            newline(into: &out, level: level + 1)
            try write(item, into: &out, level: level + 1)
        }
        newline(into: &out, level: level)
        out += "]"
    }

    private func keyString(_ k: Value) throws -> String {
        switch k {
        case .string(let s): return s
        case .int(let i): return String(i)
        case .float(let d): return Value.formatFloat(d)
        case .bool(let b): return b ? "true" : "false"
        case .none: return "null"
        default: throw TemplateError(message: "keys must be str, int, float, bool or None, not \(k.typeName)")
        }
    }

    private func writeString(_ s: String, into out: inout String) {
        out += "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            default:
                if u.value < 0x20 {
                    out += String(format: "\\u%04x", u.value)
                } else if ensureASCII && u.value > 0x7E {
                    if u.value > 0xFFFF {
                        let v = u.value - 0x10000
                        out += String(format: "\\u%04x\\u%04x", 0xD800 + (v >> 10), 0xDC00 + (v & 0x3FF))
                    } else {
                        out += String(format: "\\u%04x", u.value)
                    }
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        out += "\""
    }
}
