import Foundation

/// Python's `"%s" % args` formatting (also the `format` filter).
enum PercentFormat {
    static func format(_ f: String, a args: Value) throws -> String {
        var positional: [Value]
        var mapping: DictStorage? = nil
        switch args {
        case .tuple(let t): positional = t
        case .dict(let d): positional = [args]; mapping = d
        default: positional = [args]
        }
        var out = ""
        var chars = Array(f.unicodeScalars)[...]
        var next = 0
        while let c = chars.popFirst() {
            guard c == "%" else { out.unicodeScalars.append(c); continue }
            var key: String? = nil
            if chars.first == "(" {
                chars = chars.dropFirst()
                var k = String.UnicodeScalarView()
                while let d = chars.popFirst(), d != ")" { k.append(d) }
                key = String(k)
            }
            var flags = ""
            while let d = chars.first, "-+ #0".unicodeScalars.contains(d) { flags.unicodeScalars.append(d); chars = chars.dropFirst() }
            var width = ""
            while let d = chars.first, d.properties.numericType != nil, d.isASCII { width.unicodeScalars.append(d); chars = chars.dropFirst() }
            var precision: Int? = nil
            if chars.first == "." {
                chars = chars.dropFirst()
                var p = ""
                while let d = chars.first, d.properties.numericType != nil, d.isASCII { p.unicodeScalars.append(d); chars = chars.dropFirst() }
                precision = Int(p) ?? 0
            }
            guard let type = chars.popFirst() else { throw TemplateError(message: "incomplete format") }
            if type == "%" { out += "%"; continue }
            let value: Value
            if let key {
                guard let m = mapping, let v = m[key] else { throw TemplateError(message: "format requires a mapping") }
                value = v
            } else {
                guard next < positional.count else { throw TemplateError(message: "not enough arguments for format string") }
                value = positional[next]
                next += 1
            }
            var body: String
            switch type {
            case "s": body = value.pythonString
            case "r": body = value.pythonRepr
            case "d", "i", "u":
                guard let d = value.doubleValue else { throw TemplateError(message: "%d format: a real number is required, not \(value.typeName)") }
                body = value.intValue.map(String.init) ?? String(Int(d.rounded(.towardZero)))
            case "f", "F", "e", "E", "g", "G":
                guard let d = value.doubleValue else { throw TemplateError(message: "must be real number, not \(value.typeName)") }
                body = String(format: "%.\(precision ?? 6)\(Character(type))", d)
                precision = nil
            case "x", "X", "o":
                guard let i = value.intValue else { throw TemplateError(message: "%x format: an integer is required") }
                body = String(i, radix: type == "o" ? 8 : 16, uppercase: type == "X")
            case "c":
                body = value.intValue.flatMap { Unicode.Scalar(UInt32(clamping: $0)) }.map { String($0) } ?? value.pythonString
            default: throw TemplateError(message: "unsupported format character '\(Character(type))'")
            }
            if let p = precision, type == "s" || type == "r" { body = PyString.string(body.unicodeScalars.prefix(p)) }
            if flags.contains("+"), "dif".unicodeScalars.contains(type), !body.hasPrefix("-") { body = "+" + body }
            let w = Int(width) ?? 0
            let pad = max(0, w - body.unicodeScalars.count)
            if flags.contains("-") { body += String(repeating: " ", count: pad) }
            else if flags.contains("0") && type != "s" { body = String(repeating: "0", count: pad) + body }
            else { body = String(repeating: " ", count: pad) + body }
            out += body
        }
        if mapping == nil && next < positional.count {
            throw TemplateError(message: "not all arguments converted during string formatting")
        }
        return out
    }
}

/// Python's `str.format`: `{}`, `{0}`, `{name}`, `{{`/`}}`, with a basic format spec.
enum BraceFormat {
    static func format(_ f: String, _ args: Arguments) throws -> String {
        var out = ""
        var chars = Array(f.unicodeScalars)[...]
        var auto = 0
        while let c = chars.popFirst() {
            if c == "}" {
                if chars.first == "}" { chars = chars.dropFirst() }
                out += "}"
                continue
            }
            guard c == "{" else { out.unicodeScalars.append(c); continue }
            if chars.first == "{" { chars = chars.dropFirst(); out += "{"; continue }
            var field = String.UnicodeScalarView()
            var closed = false
            while let d = chars.popFirst() {
                if d == "}" { closed = true; break }
                field.append(d)
            }
            guard closed else { throw TemplateError(message: "Single '{' encountered in format string") }
            let parts = String(field).split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
            var name = String(parts.first ?? "")
            var conversion: String? = nil
            if let bang = name.firstIndex(of: "!") {
                conversion = String(name[name.index(after: bang)...])
                name = String(name[..<bang])
            }
            let value: Value
            if name.isEmpty {
                guard auto < args.positional.count else { throw TemplateError(message: "Replacement index \(auto) out of range") }
                value = args.positional[auto]
                auto += 1
            } else if let i = Int(name) {
                guard i < args.positional.count else { throw TemplateError(message: "Replacement index \(i) out of range") }
                value = args.positional[i]
            } else {
                guard let v = args[keyword: name] else { throw TemplateError(message: "KeyError: '\(name)'") }
                value = v
            }
            let text = conversion == "r" ? value.pythonRepr : value.pythonString
            out += try applySpec(parts.count > 1 ? String(parts[1]) : "", value, text)
        }
        return out
    }

    private static func applySpec(_ spec: String, _ value: Value, _ text: String) throws -> String {
        if spec.isEmpty { return text }
        var s = Array(spec.unicodeScalars)[...]
        var fill: Unicode.Scalar = " "
        var align: Unicode.Scalar? = nil
        if s.count >= 2, "<>^=".unicodeScalars.contains(s[s.startIndex + 1]) {
            fill = s[s.startIndex]; align = s[s.startIndex + 1]; s = s.dropFirst(2)
        } else if let f = s.first, "<>^=".unicodeScalars.contains(f) {
            align = f; s = s.dropFirst()
        }
        var width = ""
        while let d = s.first, d.isASCII, d.properties.numericType != nil { width.unicodeScalars.append(d); s = s.dropFirst() }
        var precision: Int? = nil
        if s.first == "." {
            s = s.dropFirst()
            var p = ""
            while let d = s.first, d.isASCII, d.properties.numericType != nil { p.unicodeScalars.append(d); s = s.dropFirst() }
            precision = Int(p)
        }
        var body = text
        if let type = s.first, "fFeEgG".unicodeScalars.contains(type), let d = value.doubleValue {
            body = String(format: "%.\(precision ?? 6)\(Character(type))", d)
        } else if s.first == nil, let p = precision, case .float(let d) = value {
            body = String(format: "%.\(p)g", d)
        } else if let p = precision, case .string = value {
            body = PyString.string(body.unicodeScalars.prefix(p))
        }
        let w = Int(width) ?? 0
        let pad = max(0, w - body.unicodeScalars.count)
        let f = String(fill)
        let a = align ?? (value.isNumber ? ">" : "<")
        switch a {
        case ">": return String(repeating: f, count: pad) + body
        case "^": return String(repeating: f, count: pad / 2) + body + String(repeating: f, count: pad - pad / 2)
        default: return body + String(repeating: f, count: pad)
        }
    }
}
