/// A token of the template source. `text` is literal output between tags.
enum TokenKind: Equatable {
    case text(String)
    case variableBegin, variableEnd, blockBegin, blockEnd
    case name(String)
    case string(String)
    case integer(Int)
    case float(Double)
    case op(String)
    case eof
}

struct Token {
    var kind: TokenKind
    var location: SourceLocation
}

/// Splits template source into tokens the way jinja2's lexer does with `trim_blocks` and `lstrip_blocks`
/// (transformers turns both on): newlines normalized to `\n`, one trailing newline dropped, `-` and `+`
/// whitespace control on tags, `{% raw %}` kept verbatim, comments dropped.
struct Lexer {
    private let src: [Unicode.Scalar]
    private var pos = 0
    private var line = 1
    private var column = 1
    private var tokens: [Token] = []
    var trimBlocks = true
    var lstripBlocks = true

    init(_ source: String) {
        var scalars: [Unicode.Scalar] = []
        scalars.reserveCapacity(source.unicodeScalars.count)
        var it = source.unicodeScalars.makeIterator()
        var pending = it.next()
        while let c = pending {
            pending = it.next()
            if c == "\r" {
                scalars.append("\n")
                if pending == "\n" { pending = it.next() }
            } else {
                scalars.append(c)
            }
        }
        if scalars.last == "\n" { scalars.removeLast() }
        src = scalars
    }

    static func tokenize(_ source: String) throws -> [Token] {
        var lexer = Lexer(source)
        return try lexer.run()
    }

    private func at(_ i: Int) -> Unicode.Scalar? { i < src.count ? src[i] : nil }

    private func starts(with s: String, at i: Int) -> Bool {
        var j = i
        for c in s.unicodeScalars {
            guard j < src.count, src[j] == c else { return false }
            j += 1
        }
        return true
    }

    private var here: SourceLocation { SourceLocation(line: line, column: column) }

    private mutating func advance(_ n: Int = 1) {
        for _ in 0..<n where pos < src.count {
            if src[pos] == "\n" { line += 1; column = 1 } else { column += 1 }
            pos += 1
        }
    }

    private func error(_ message: String, _ loc: SourceLocation? = nil) -> TemplateError {
        let l = loc ?? here
        return TemplateError(kind: .syntax, line: l.line, column: l.column, message: message)
    }

    private static func isSpace(_ c: Unicode.Scalar) -> Bool {
        c == " " || c == "\t" || c == "\n" || c == "\u{0B}" || c == "\u{0C}" || c == "\r"
            || (c.value > 127 && c.properties.isWhitespace)
    }

    private mutating func run() throws -> [Token] {
        var lineStarting = true
        while pos < src.count {
            // Find the next tag opening.
            var j = pos
            var tagStart: Int? = nil
            while j + 1 < src.count {
                if src[j] == "{", src[j + 1] == "{" || src[j + 1] == "%" || src[j + 1] == "#" { tagStart = j; break }
                j += 1
            }
            let end = tagStart ?? src.count
            var text = Array(src[pos..<end])
            let textLoc = here
            guard let start = tagStart else {
                emitText(text, textLoc)
                advance(end - pos)
                break
            }
            let kind = src[start + 1]
            let sign = at(start + 2)
            let isRaw = kind == "%" && isRawBegin(start)
            if sign == "-" {
                while let last = text.last, Lexer.isSpace(last) { text.removeLast() }
            } else if sign != "+", lstripBlocks, kind != "{" {
                text = lstripped(text, lineStarting: lineStarting)
            }
            emitText(text, textLoc)
            advance(start - pos)
            if isRaw {
                lineStarting = try lexRaw()
            } else if kind == "#" {
                lineStarting = try lexComment()
            } else {
                lineStarting = try lexTag(isBlock: kind == "%")
            }
        }
        tokens.append(Token(kind: .eof, location: here))
        return tokens
    }

    /// lstrip_blocks: drop spaces and tabs between the start of the line and a block or comment tag.
    private func lstripped(_ text: [Unicode.Scalar], lineStarting: Bool) -> [Unicode.Scalar] {
        let lineStart = (text.lastIndex(of: "\n").map { $0 + 1 }) ?? 0
        guard lineStart > 0 || lineStarting, lineStart < text.count else { return text }
        if text[lineStart...].allSatisfy(Lexer.isSpace) { return Array(text[..<lineStart]) }
        return text
    }

    private mutating func emitText(_ text: [Unicode.Scalar], _ loc: SourceLocation) {
        guard !text.isEmpty else { return }
        var s = String.UnicodeScalarView()
        s.append(contentsOf: text)
        tokens.append(Token(kind: .text(String(s)), location: loc))
    }

    /// After a block or comment end: `-` eats all following whitespace, trim_blocks eats one newline.
    /// Returns whether what was consumed ended a line (jinja2's `line_starting`).
    private mutating func afterBlockEnd(strip: Bool, keep: Bool, trim: Bool) -> Bool {
        if strip {
            var ate = false
            while let c = at(pos), Lexer.isSpace(c) { ate = c == "\n"; advance() }
            return ate
        }
        if trim && !keep && trimBlocks && at(pos) == "\n" { advance(); return true }
        return false
    }

    private func isRawBegin(_ start: Int) -> Bool {
        var i = start + 2
        if at(i) == "-" || at(i) == "+" { i += 1 }
        while let c = at(i), Lexer.isSpace(c) { i += 1 }
        guard starts(with: "raw", at: i) else { return false }
        i += 3
        while let c = at(i), Lexer.isSpace(c) { i += 1 }
        return starts(with: "%}", at: i) || starts(with: "-%}", at: i)
    }

    private mutating func lexRaw() throws -> Bool {
        let open = here
        // Skip `{% raw %}` / `{%- raw -%}`; no trim_blocks after the opening tag, as in jinja2.
        advance(2)
        if at(pos) == "-" || at(pos) == "+" { advance() }
        while let c = at(pos), Lexer.isSpace(c) { advance() }
        advance(3)
        while let c = at(pos), Lexer.isSpace(c) { advance() }
        if at(pos) == "-" {
            advance(3)
            while let c = at(pos), Lexer.isSpace(c) { advance() }
        } else {
            advance(2)
        }
        let bodyLoc = here
        var i = pos
        while i < src.count {
            if src[i] == "{", at(i + 1) == "%" {
                var k = i + 2
                let sign = at(k)
                if sign == "-" || sign == "+" { k += 1 }
                while let c = at(k), Lexer.isSpace(c) { k += 1 }
                if starts(with: "endraw", at: k) {
                    k += 6
                    while let c = at(k), Lexer.isSpace(c) { k += 1 }
                    var strip = false, keep = false
                    if at(k) == "-" { strip = true; k += 1 } else if at(k) == "+" { keep = true; k += 1 }
                    if starts(with: "%}", at: k) {
                        var body = Array(src[pos..<i])
                        if sign == "-" {
                            while let last = body.last, Lexer.isSpace(last) { body.removeLast() }
                        } else if sign != "+", lstripBlocks {
                            body = lstripped(body, lineStarting: false)
                        }
                        emitText(body, bodyLoc)
                        advance(k + 2 - pos)
                        return afterBlockEnd(strip: strip, keep: keep, trim: true)
                    }
                }
            }
            i += 1
        }
        throw error("missing end of raw directive", open)
    }

    private mutating func lexComment() throws -> Bool {
        let open = here
        var i = pos + 2
        while i + 1 < src.count {
            if src[i] == "#", src[i + 1] == "}" {
                let strip = src[i - 1] == "-" && i - 1 > pos + 2
                let keep = src[i - 1] == "+" && i - 1 > pos + 2
                advance(i + 2 - pos)
                return afterBlockEnd(strip: strip, keep: keep, trim: true)
            }
            i += 1
        }
        throw error("missing end of comment tag", open)
    }

    private mutating func lexTag(isBlock: Bool) throws -> Bool {
        let open = here
        tokens.append(Token(kind: isBlock ? .blockBegin : .variableBegin, location: open))
        advance(2)
        if at(pos) == "-" || at(pos) == "+" { advance() }
        var depth: [Unicode.Scalar] = []
        let close: Unicode.Scalar = isBlock ? "%" : "}"
        while true {
            while let c = at(pos), Lexer.isSpace(c) { advance() }
            guard let c = at(pos) else {
                throw error("unexpected end of template, expected '\(isBlock ? "%}" : "}}")'", open)
            }
            let loc = here
            if depth.isEmpty {
                var k = pos
                var strip = false, keep = false
                if c == "-" { strip = true; k += 1 } else if c == "+" && isBlock { keep = true; k += 1 }
                if at(k) == close, at(k + 1) == "}" {
                    advance(k + 2 - pos)
                    tokens.append(Token(kind: isBlock ? .blockEnd : .variableEnd, location: loc))
                    return afterBlockEnd(strip: strip, keep: keep, trim: isBlock)
                }
                if !isBlock, c == "%", at(pos + 1) == "}" { throw error("unexpected '%}'") }
                if isBlock, c == "}", at(pos + 1) == "}" { throw error("unexpected '}}'") }
            }
            if c == "'" || c == "\"" {
                tokens.append(Token(kind: .string(try lexString()), location: loc))
            } else if c.properties.numericType != nil && c.isASCII {
                tokens.append(Token(kind: try lexNumber(), location: loc))
            } else if c == "_" || c.properties.isAlphabetic {
                var name = String.UnicodeScalarView()
                while let d = at(pos), d == "_" || d.properties.isAlphabetic || (d.isASCII && d.properties.numericType != nil) {
                    name.append(d)
                    advance()
                }
                tokens.append(Token(kind: .name(String(name)), location: loc))
            } else {
                let two = [at(pos), at(pos + 1)].compactMap { $0 }.map(String.init).joined()
                if ["//", "**", "==", "!=", "<=", ">="].contains(two) {
                    tokens.append(Token(kind: .op(two), location: loc))
                    advance(2)
                    continue
                }
                guard "+-*/%~<>=.,:|()[]{}".unicodeScalars.contains(c) else {
                    throw error("unexpected char '\(Character(c))'")
                }
                if c == "(" || c == "[" || c == "{" {
                    depth.append(c)
                } else if c == ")" || c == "]" || c == "}" {
                    let want: Unicode.Scalar = c == ")" ? "(" : c == "]" ? "[" : "{"
                    guard depth.last == want else { throw error("unexpected '\(Character(c))'") }
                    depth.removeLast()
                }
                tokens.append(Token(kind: .op(String(Character(c))), location: loc))
                advance()
            }
        }
    }

    private mutating func lexString() throws -> String {
        let open = here
        guard let quote = at(pos) else { throw error("unterminated string") }
        advance()
        var out = String.UnicodeScalarView()
        while true {
            guard let c = at(pos) else { throw error("unterminated string", open) }
            advance()
            if c == quote { break }
            if c != "\\" { out.append(c); continue }
            guard let e = at(pos) else { throw error("unterminated string", open) }
            advance()
            switch e {
            case "n": out.append("\n")
            case "t": out.append("\t")
            case "r": out.append("\r")
            case "a": out.append("\u{07}")
            case "b": out.append("\u{08}")
            case "f": out.append("\u{0C}")
            case "v": out.append("\u{0B}")
            case "\\", "'", "\"": out.append(e)
            case "\n": break
            case "x", "u", "U":
                let n = e == "x" ? 2 : e == "u" ? 4 : 8
                var hex = ""
                for _ in 0..<n {
                    guard let h = at(pos), h.properties.isASCIIHexDigit else {
                        throw error("truncated \\\(Character(e)) escape in string")
                    }
                    hex.unicodeScalars.append(h)
                    advance()
                }
                guard let v = UInt32(hex, radix: 16), let s = Unicode.Scalar(v) else {
                    throw error("invalid escape in string")
                }
                out.append(s)
            case "0"..."7":
                var v = e.value - 48
                var n = 1
                while n < 3, let d = at(pos), d >= "0" && d <= "7" { v = v * 8 + d.value - 48; advance(); n += 1 }
                out.append(Unicode.Scalar(v) ?? "\u{FFFD}")
            default:
                out.append("\\")
                out.append(e)
            }
        }
        return String(out)
    }

    private mutating func lexNumber() throws -> TokenKind {
        let loc = here
        var digits = ""
        func isDigit(_ c: Unicode.Scalar?) -> Bool { c.map { $0 >= "0" && $0 <= "9" } ?? false }
        if at(pos) == "0", let p = at(pos + 1), p == "x" || p == "o" || p == "b" || p == "X" || p == "O" || p == "B" {
            let radix = p == "x" || p == "X" ? 16 : p == "o" || p == "O" ? 8 : 2
            advance(2)
            while let c = at(pos), c.properties.isASCIIHexDigit || c == "_" {
                if c != "_" { digits.unicodeScalars.append(c) }
                advance()
            }
            guard let v = Int(digits, radix: radix) else { throw error("invalid number literal", loc) }
            return .integer(v)
        }
        var isFloat = false
        while let c = at(pos), isDigit(c) || c == "_" {
            if c != "_" { digits.unicodeScalars.append(c) }
            advance()
        }
        if at(pos) == ".", isDigit(at(pos + 1)) {
            isFloat = true
            digits += "."
            advance()
            while let c = at(pos), isDigit(c) || c == "_" {
                if c != "_" { digits.unicodeScalars.append(c) }
                advance()
            }
        }
        if let e = at(pos), e == "e" || e == "E" {
            var k = pos + 1
            if at(k) == "+" || at(k) == "-" { k += 1 }
            if isDigit(at(k)) {
                isFloat = true
                digits += "e"
                advance()
                if let s = at(pos), s == "+" || s == "-" { digits.unicodeScalars.append(s); advance() }
                while let c = at(pos), isDigit(c) || c == "_" {
                    if c != "_" { digits.unicodeScalars.append(c) }
                    advance()
                }
            }
        }
        if isFloat {
            guard let d = Double(digits) else { throw error("invalid number literal", loc) }
            return .float(d)
        }
        guard let v = Int(digits) else { throw error("integer literal too large", loc) }
        return .integer(v)
    }
}
