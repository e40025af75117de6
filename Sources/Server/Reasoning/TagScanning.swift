/// Text helpers shared by the streaming parsers: find a tag, and hold back the end of a buffer
/// that could be the start of a tag split across deltas (`</th` + `ink>`).
enum TagScanning {
    /// The length in UTF-8 bytes of the longest suffix of `text` that is a proper prefix of
    /// `tag` (tags are ASCII, so the cut is always on a character boundary).
    static func heldBackCount(_ text: Substring, tag: String) -> Int {
        let bytes = Array(text.utf8.suffix(tag.utf8.count - 1))
        let tagBytes = Array(tag.utf8)
        var length = min(bytes.count, tagBytes.count - 1)
        while length > 0 {
            if bytes[(bytes.count - length)...].elementsEqual(tagBytes[..<length]) { return length }
            length -= 1
        }
        return 0
    }

    /// Splits `text` into (safe to emit, held back as a possible start of `tag`).
    static func splitHeldBack(_ text: Substring, tag: String) -> (emit: Substring, hold: Substring) {
        let count = heldBackCount(text, tag: tag)
        let cut = text.utf8.index(text.utf8.endIndex, offsetBy: -count)
        return (text[..<cut], text[cut...])
    }

    /// `text` without leading whitespace.
    static func trimmingLeadingWhitespace(_ text: Substring) -> Substring {
        text.drop(while: { $0.isWhitespace })
    }
}

extension TagScanning {
    /// The first occurrence of `tag` in `text`, compared byte for byte (no Unicode equivalence,
    /// which Foundation's `range(of:)` would apply).
    static func find(_ tag: String, in text: Substring) -> Range<String.Index>? {
        let needle = Array(tag.utf8)
        guard let first = needle.first else { return nil }
        let hay = text.utf8
        var i = hay.startIndex
        while let start = hay[i...].firstIndex(of: first) {
            var h = start
            var matched = true
            for byte in needle {
                if h == hay.endIndex || hay[h] != byte { matched = false; break }
                h = hay.index(after: h)
            }
            if matched { return start..<h }
            i = hay.index(after: start)
        }
        return nil
    }

    static func find(_ tag: String, in text: String) -> Range<String.Index>? { find(tag, in: text[...]) }
}

extension StringProtocol {
    /// nil for the empty string: OpenAI messages carry `null`, not `""`, for an absent part.
    var nonEmpty: String? { isEmpty ? nil : String(self) }
}
