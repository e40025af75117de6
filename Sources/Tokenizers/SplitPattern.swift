import Foundation

/// What a Split pre-tokenizer looks for. The regexes of common models have hand-written matchers over
/// UTF-8; any other regex goes to NSRegularExpression (ICU, UTF-16, slower).
enum SplitPattern: @unchecked Sendable {
    case gpt2                    // 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
    case qwen(maxDigits: Int, marksAreLetters: Bool)  // Qwen2 (\p{N}), Llama-3 (\p{N}{1,3}), Qwen3.5 ([\p{L}\p{M}]+)
    case literal([UInt8])
    case regex(NSRegularExpression)
    case scalars((UInt32) -> Bool)  // every scalar for which the predicate holds is one match

    static let gpt2Patterns: Set<String> = [
        #"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"#,
        #"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)"#,
    ]
    static let qwenPatterns: Set<String> = [
        #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#,
        #"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#,
    ]
    static let llama3Patterns: Set<String> = [
        #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#,
        #"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#,
    ]

    static let qwen35Patterns: Set<String> = [
        #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?[\p{L}\p{M}]+|\p{N}| ?[^\s\p{L}\p{M}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#,
    ]

    static func regex(_ pattern: String) throws -> SplitPattern {
        if gpt2Patterns.contains(pattern) { return .gpt2 }
        if qwenPatterns.contains(pattern) { return .qwen(maxDigits: 1, marksAreLetters: false) }
        if llama3Patterns.contains(pattern) { return .qwen(maxDigits: 3, marksAreLetters: false) }
        if qwen35Patterns.contains(pattern) { return .qwen(maxDigits: 1, marksAreLetters: true) }
        do {
            return .regex(try NSRegularExpression(pattern: pattern, options: []))
        } catch {
            throw TokenizerError.invalidRegex(pattern: pattern, reason: "\(error)")
        }
    }

    /// Appends the matches inside `start..<end`, ascending and non-overlapping.
    func matches(_ p: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int, into out: inout [Range<Int>]) {
        switch self {
        case .gpt2: Self.matchGPT2(p, start, end, &out)
        case .qwen(let maxDigits, let marks): Self.matchQwen(p, start, end, maxDigits, marks ? [.letter, .mark] : .letter, &out)
        case .literal(let needle): Self.matchLiteral(needle, p, start, end, &out)
        case .scalars(let predicate):
            var i = start
            while i < end {
                let (s, n) = decodeScalar(p, i, end)
                if predicate(s) { out.append(i..<(i + n)) }
                i += n
            }
        case .regex(let re): Self.matchRegex(re, p, start, end, &out)
        }
    }

    // MARK: hand-written matchers

    /// Length of a contraction ('s 't 're 've 'm 'll 'd) at `i`, which holds an apostrophe, or 0.
    @inline(__always)
    static func contraction(_ p: UnsafeBufferPointer<UInt8>, _ i: Int, _ end: Int, caseInsensitive: Bool) -> Int {
        guard i + 1 < end else { return 0 }
        let fold: (UInt8) -> UInt8 = { caseInsensitive && $0 >= 0x41 && $0 <= 0x5A ? $0 | 0x20 : $0 }
        let a = fold(p[i + 1])
        switch a {
        case UInt8(ascii: "s"), UInt8(ascii: "t"), UInt8(ascii: "m"), UInt8(ascii: "d"): return 2
        case UInt8(ascii: "r"), UInt8(ascii: "v"):
            return i + 2 < end && fold(p[i + 2]) == UInt8(ascii: "e") ? 3 : 0
        case UInt8(ascii: "l"):
            return i + 2 < end && fold(p[i + 2]) == UInt8(ascii: "l") ? 3 : 0
        default: return 0
        }
    }

    @inline(__always)
    static func run(_ p: UnsafeBufferPointer<UInt8>, from i: Int, _ end: Int, while pred: (ScalarClass) -> Bool) -> Int {
        var j = i
        while j < end {
            let (c, n) = classAt(p, j, end)
            if !pred(c) { break }
            j += n
        }
        return j
    }

    /// End of a whitespace match at `i` for `\s+(?!\S)|\s+`.
    @inline(__always)
    static func whitespaceEnd(_ p: UnsafeBufferPointer<UInt8>, _ i: Int, _ end: Int) -> Int {
        var j = i
        var last = i
        var count = 0
        while j < end {
            let (c, n) = classAt(p, j, end)
            if !c.contains(.whitespace) { break }
            last = j
            j += n
            count += 1
        }
        if j == end || count == 1 { return j }
        return last
    }

    static func matchGPT2(_ p: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int, _ out: inout [Range<Int>]) {
        var i = start
        while i < end {
            if p[i] == UInt8(ascii: "'") {
                let n = contraction(p, i, end, caseInsensitive: false)
                if n > 0 {
                    out.append(i..<(i + n))
                    i += n
                    continue
                }
            }
            var j = i
            var (c, n) = classAt(p, j, end)
            if p[i] == 0x20, i + 1 < end {
                let (c2, n2) = classAt(p, i + 1, end)
                if !c2.contains(.whitespace) {
                    j = i + 1
                    c = c2
                    n = n2
                }
            }
            let stop: Int
            if c.contains(.letter) {
                stop = run(p, from: j + n, end) { $0.contains(.letter) }
            } else if c.contains(.number) {
                stop = run(p, from: j + n, end) { $0.contains(.number) }
            } else if !c.contains(.whitespace) {
                stop = run(p, from: j + n, end) { $0.isDisjoint(with: [.letter, .number, .whitespace]) }
            } else {
                stop = whitespaceEnd(p, i, end)
            }
            out.append(i..<stop)
            i = stop
        }
    }

    static func matchQwen(_ p: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int, _ maxDigits: Int, _ letters: ScalarClass,
                          _ out: inout [Range<Int>]) {
        let other: ScalarClass = letters.union([.whitespace, .number])
        var i = start
        while i < end {
            if p[i] == UInt8(ascii: "'") {
                let n = contraction(p, i, end, caseInsensitive: true)
                if n > 0 {
                    out.append(i..<(i + n))
                    i += n
                    continue
                }
            }
            let (c0, n0) = classAt(p, i, end)
            // [^\r\n\p{L}\p{N}]?\p{L}+
            if !c0.isDisjoint(with: letters) {
                let stop = run(p, from: i + n0, end) { !$0.isDisjoint(with: letters) }
                out.append(i..<stop)
                i = stop
                continue
            }
            if c0.isDisjoint(with: [.newline, .number, .letter]), i + n0 < end {
                let (c1, n1) = classAt(p, i + n0, end)
                if !c1.isDisjoint(with: letters) {
                    let stop = run(p, from: i + n0 + n1, end) { !$0.isDisjoint(with: letters) }
                    out.append(i..<stop)
                    i = stop
                    continue
                }
            }
            // \p{N}{1,maxDigits}
            if c0.contains(.number) {
                var stop = i + n0
                var k = 1
                while k < maxDigits, stop < end {
                    let (c, n) = classAt(p, stop, end)
                    if !c.contains(.number) { break }
                    stop += n
                    k += 1
                }
                out.append(i..<stop)
                i = stop
                continue
            }
            //  ?[^\s\p{L}\p{N}]+[\r\n]*
            var j = i
            var c = c0
            var n = n0
            if p[i] == 0x20, i + 1 < end {
                let (c2, n2) = classAt(p, i + 1, end)
                if c2.isDisjoint(with: other) {
                    j = i + 1
                    c = c2
                    n = n2
                }
            }
            if c.isDisjoint(with: other) {
                var stop = run(p, from: j + n, end) { $0.isDisjoint(with: other) }
                while stop < end, p[stop] == 0x0A || p[stop] == 0x0D { stop += 1 }
                out.append(i..<stop)
                i = stop
                continue
            }
            // \s*[\r\n]+ : up to the last newline of the whitespace run, if it has one
            var k = i
            var lastNewline = -1
            while k < end {
                let (ck, nk) = classAt(p, k, end)
                if !ck.contains(.whitespace) { break }
                if ck.contains(.newline) { lastNewline = k }
                k += nk
            }
            if lastNewline >= 0 {
                out.append(i..<(lastNewline + 1))
                i = lastNewline + 1
                continue
            }
            let stop = whitespaceEnd(p, i, end)
            out.append(i..<stop)
            i = stop
        }
    }

    static func matchLiteral(_ needle: [UInt8], _ p: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int, _ out: inout [Range<Int>]) {
        guard !needle.isEmpty else { return }
        var i = start
        let first = needle[0]
        while i + needle.count <= end {
            if p[i] == first {
                var k = 1
                while k < needle.count, p[i + k] == needle[k] { k += 1 }
                if k == needle.count {
                    out.append(i..<(i + k))
                    i += k
                    continue
                }
            }
            i += 1
        }
    }

    static func matchRegex(_ re: NSRegularExpression, _ p: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int, _ out: inout [Range<Int>]) {
        let text = String(decoding: UnsafeBufferPointer(rebasing: p[start..<end]), as: UTF8.self)
        // UTF-16 offset -> UTF-8 offset, for every UTF-16 position.
        var map: [Int] = []
        map.reserveCapacity(text.utf16.count + 1)
        var u8 = 0
        for s in text.unicodeScalars {
            map.append(u8)
            if s.value > 0xFFFF { map.append(u8) }
            u8 += UTF8.width(s)
        }
        map.append(u8)
        let ns = text as NSString
        for m in re.matches(in: text, options: [], range: NSRange(location: 0, length: ns.length)) {
            let r = m.range
            guard r.location != NSNotFound else { continue }
            out.append((start + map[r.location])..<(start + map[r.location + r.length]))
        }
    }
}

/// How a Split keeps its matches (tokenizers' SplitDelimiterBehavior).
enum SplitBehavior: String, Sendable {
    case removed = "Removed"
    case isolated = "Isolated"
    case mergedWithPrevious = "MergedWithPrevious"
    case mergedWithNext = "MergedWithNext"
    case contiguous = "Contiguous"

    /// Splits `start..<end` into pieces given the pattern's matches.
    func apply(matches: [Range<Int>], start: Int, end: Int, invert: Bool, into out: inout [Range<Int>]) {
        // Segments covering the range, each flagged as a match or not.
        var segments: [(Range<Int>, Bool)] = []
        segments.reserveCapacity(matches.count * 2 + 1)
        var prev = start
        for m in matches {
            if prev < m.lowerBound { segments.append((prev..<m.lowerBound, invert)) }
            segments.append((m, !invert))
            prev = m.upperBound
        }
        if prev < end { segments.append((prev..<end, invert)) }

        var pieces: [Range<Int>] = []
        switch self {
        case .isolated:
            pieces = segments.map { $0.0 }
        case .removed:
            pieces = segments.filter { !$0.1 }.map { $0.0 }
        case .mergedWithPrevious:
            var previousMatch = false
            for (r, isMatch) in segments {
                if isMatch && !previousMatch, let last = pieces.last {
                    pieces[pieces.count - 1] = last.lowerBound..<r.upperBound
                } else {
                    pieces.append(r)
                }
                previousMatch = isMatch
            }
        case .mergedWithNext:
            var previousMatch = false
            for (r, isMatch) in segments.reversed() {
                if isMatch && !previousMatch, let last = pieces.last {
                    pieces[pieces.count - 1] = r.lowerBound..<last.upperBound
                } else {
                    pieces.append(r)
                }
                previousMatch = isMatch
            }
            pieces.reverse()
        case .contiguous:
            var previousMatch = false
            for (r, isMatch) in segments {
                if isMatch == previousMatch, let last = pieces.last {
                    pieces[pieces.count - 1] = last.lowerBound..<r.upperBound
                } else {
                    pieces.append(r)
                }
                previousMatch = isMatch
            }
        }
        for r in pieces where !r.isEmpty { out.append(r) }
    }
}
