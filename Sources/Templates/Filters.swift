import Foundation

/// jinja2's builtin filters (with transformers' own `tojson`), applied as `value|name(args)`.
enum Filters {
    /// Every builtin filter name of jinja2 3.1: a name outside this set fails when the template is parsed,
    /// as in jinja2. `filesizeformat`, `groupby`, `random`, `slice`, `striptags`, `urlencode`, `urlize`,
    /// `wordwrap` and `xmlattr` parse but fail when applied (chat templates do not use them).
    static let names: Set<String> = [
        "abs", "attr", "batch", "capitalize", "center", "count", "d", "default", "dictsort", "e", "escape",
        "filesizeformat", "first", "float", "forceescape", "format", "groupby", "indent", "int", "items", "join",
        "last", "length", "list", "lower", "map", "max", "min", "pprint", "random", "reject", "rejectattr",
        "replace", "reverse", "round", "safe", "select", "selectattr", "slice", "sort", "string", "striptags",
        "sum", "title", "tojson", "trim", "truncate", "unique", "upper", "urlencode", "urlize", "wordcount",
        "wordwrap", "xmlattr",
    ]

    static func iterate(_ v: Value) throws -> [Value] {
        switch v {
        case .list(let l): return l.items
        case .tuple(let t): return t
        case .dict(let d): return d.keys
        case .string(let s): return s.unicodeScalars.map { .string(String($0)) }
        case .undefined: return []
        default: throw TemplateError(message: "'\(v.typeName)' object is not iterable")
        }
    }

    static func length(_ v: Value) throws -> Int {
        switch v {
        case .string(let s): return s.unicodeScalars.count
        case .list(let l): return l.items.count
        case .tuple(let t): return t.count
        case .dict(let d): return d.count
        case .undefined: return 0
        default: throw TemplateError(message: "object of type '\(v.typeName)' has no len()")
        }
    }

    /// Sort key for jinja2's case-insensitive comparisons.
    static func folded(_ v: Value, _ caseSensitive: Bool) -> Value {
        if !caseSensitive, case .string(let s) = v { return .string(s.lowercased()) }
        return v
    }

    static func sorted(_ items: [Value], reverse: Bool, caseSensitive: Bool, key: (Value) throws -> Value = { $0 }) throws -> [Value] {
        let keyed = try items.map { (folded(try key($0), caseSensitive), $0) }
        var failure: Error? = nil
        // A stable merge sort, as Python's sort is stable; comparison errors are reported after.
        let result = mergeSort(keyed) { a, b in
            do { return try Operators.order(a.0, b.0) < 0 } catch { failure = failure ?? error; return false }
        }
        if let failure { throw failure }
        let values = result.map(\.1)
        if !reverse { return values }
        // Python's reverse sort keeps equal items in their original order.
        let rev = mergeSort(keyed) { a, b in (try? Operators.order(a.0, b.0) > 0) ?? false }
        return rev.map(\.1)
    }

    private static func mergeSort<T>(_ a: [T], _ less: (T, T) -> Bool) -> [T] {
        if a.count <= 1 { return a }
        let mid = a.count / 2
        let l = mergeSort(Array(a[..<mid]), less), r = mergeSort(Array(a[mid...]), less)
        var out: [T] = []
        out.reserveCapacity(a.count)
        var i = 0, j = 0
        while i < l.count && j < r.count {
            if less(r[j], l[i]) { out.append(r[j]); j += 1 } else { out.append(l[i]); i += 1 }
        }
        out += l[i...]
        out += r[j...]
        return out
    }

    static func htmlEscape(_ s: String) -> String {
        var out = ""
        for c in s.unicodeScalars {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&#34;"
            case "'": out += "&#39;"
            default: out.unicodeScalars.append(c)
            }
        }
        return out
    }

    static func indent(_ s: String, width: Value, first: Bool, blank: Bool) -> String {
        let indention: String
        if case .string(let w) = width { indention = w } else { indention = String(repeating: " ", count: max(0, width.intValue ?? 4)) }
        let lines = PyString.splitlines(s + "\n")
        var rv: String
        if blank {
            rv = lines.joined(separator: "\n" + indention)
        } else {
            rv = lines.first ?? ""
            let rest = lines.dropFirst()
            if !rest.isEmpty {
                rv += "\n" + rest.map { $0.isEmpty ? $0 : indention + $0 }.joined(separator: "\n")
            }
        }
        return first ? indention + rv : rv
    }

    /// jinja2's `title` filter: capitalize after whitespace, `-`, and opening brackets.
    static func title(_ s: String) -> String {
        var out = ""
        var atStart = true
        for c in s.unicodeScalars {
            if PyString.isSpace(c) || "-({[<".unicodeScalars.contains(c) {
                out.unicodeScalars.append(c)
                atStart = true
            } else {
                out += atStart ? String(c).uppercased() : String(c).lowercased()
                atStart = false
            }
        }
        return out
    }

    static func wordcount(_ s: String) -> Int {
        var n = 0
        var inWord = false
        for c in s.unicodeScalars {
            let w = c == "_" || c.properties.isAlphabetic || c.properties.numericType != nil
            if w && !inWord { n += 1 }
            inWord = w
        }
        return n
    }

    static func toInt(_ v: Value, default d: Value, base: Int) -> Value {
        switch v {
        case .int: return v
        case .bool(let b): return .int(b ? 1 : 0)
        case .float(let f):
            guard f.isFinite, abs(f) < 9.2e18 else { return d }
            return .int(Int(f.rounded(.towardZero)))
        case .string(let s):
            let t = PyString.strip(s, nil, leading: true, trailing: true).replacingOccurrences(of: "_", with: "")
            var digits = t
            var b = base
            if base == 16 || base == 8 || base == 2 || base == 0 {
                let lower = t.lowercased()
                for (p, r) in [("0x", 16), ("0o", 8), ("0b", 2)] where lower.hasPrefix(p) || lower.hasPrefix("-" + p) {
                    digits = (lower.hasPrefix("-") ? "-" : "") + String(lower.dropFirst(lower.hasPrefix("-") ? 3 : 2))
                    b = r
                }
            }
            if let i = Int(digits, radix: b == 0 ? 10 : b) { return .int(i) }
            if let f = Double(t), f.isFinite, abs(f) < 9.2e18 { return .int(Int(f.rounded(.towardZero))) }
            return d
        default: return d
        }
    }

    static func toFloat(_ v: Value, default d: Value) -> Value {
        switch v {
        case .float: return v
        case .int, .bool: return .float(v.doubleValue ?? 0)
        case .string(let s):
            let t = PyString.strip(s, nil, leading: true, trailing: true).lowercased()
            switch t {
            case "inf", "+inf", "infinity", "+infinity": return .float(.infinity)
            case "-inf", "-infinity": return .float(-.infinity)
            case "nan", "+nan", "-nan": return .float(.nan)
            default: break
            }
            if t.contains("x") { return d }
            if let f = Double(t.replacingOccurrences(of: "_", with: "")) { return .float(f) }
            return d
        default: return d
        }
    }

    /// Python's round() on floats: half to even at the given decimal precision.
    static func round(_ v: Value, precision: Int, method: String) throws -> Value {
        if case .int = v, method == "common" { return v }
        guard let d = v.doubleValue else { throw TemplateError(message: "type \(v.typeName) doesn't define __round__ method") }
        let scale = pow(10.0, Double(precision))
        switch method {
        case "ceil": return .float((d * scale).rounded(.up) / scale)
        case "floor": return .float((d * scale).rounded(.down) / scale)
        case "common":
            // Round the decimal representation, as CPython does, so 2.675 (really 2.67499…) gives 2.67.
            let text = String(format: "%.\(max(0, precision))f", d)
            if precision >= 0, let r = Double(text) { return .float(r) }
            return .float((d * scale).rounded(.toNearestOrEven) / scale)
        default: throw TemplateError(message: "method must be common, ceil or floor")
        }
    }
}
