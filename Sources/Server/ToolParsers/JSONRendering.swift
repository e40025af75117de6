/// Writes tool-call arguments the way vLLM hands them to clients (`json.dumps(…,
/// ensure_ascii=False)`: `", "` and `": "` separators, non-ASCII kept, members in order).
///
/// An incomplete value renders as the longest text certain to begin the rendering of the
/// finished value: open strings and containers stay open, and a number or literal that may
/// still grow is left out. So the rendering of each longer prefix of the model's JSON extends
/// the previous one, and streamed argument deltas are plain suffixes that add up to the final
/// arguments string.
extension PartialJSON {
    var rendered: String {
        var out = ""
        render(into: &out)
        return out
    }

    func render(into out: inout String) {
        switch self {
        case .object(let members, let complete):
            out += "{"
            for (i, member) in members.enumerated() {
                if i > 0 { out += ", " }
                JSONRendering.writeString(member.key, closed: true, into: &out)
                out += ": "
                member.value?.render(into: &out)
            }
            if complete { out += "}" }
        case .array(let elements, let complete):
            out += "["
            for (i, element) in elements.enumerated() {
                if i > 0 { out += ", " }
                element.render(into: &out)
            }
            if complete { out += "]" }
        case .string(let s, let complete):
            JSONRendering.writeString(s, closed: complete, into: &out)
        case .number(let raw, let complete), .literal(let raw, let complete):
            if complete { out += raw }
        }
    }
}

enum JSONRendering {
    /// A JSON string literal, escaped scalar by scalar (so the escape of a prefix is a prefix of
    /// the escape); `closed: false` leaves off the closing quote.
    static func writeString(_ s: String, closed: Bool, into out: inout String) {
        out += "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        if closed { out += "\"" }
    }

    static func quoted(_ s: String) -> String {
        var out = ""
        writeString(s, closed: true, into: &out)
        return out
    }
}
