import Foundation

/// Python `str` behaviour on Unicode scalars (Python indexes strings by code point).
enum PyString {
    static func isSpace(_ c: Unicode.Scalar) -> Bool {
        (c.value >= 0x09 && c.value <= 0x0D) || (c.value >= 0x1C && c.value <= 0x20) || c.value == 0x85
            || (c.value > 0x7F && c.properties.isWhitespace)
    }

    static func string(_ scalars: some Sequence<Unicode.Scalar>) -> String {
        var v = String.UnicodeScalarView()
        v.append(contentsOf: scalars)
        return String(v)
    }

    static func strip(_ s: String, _ chars: String?, leading: Bool, trailing: Bool) -> String {
        let set = chars.map { Set($0.unicodeScalars) }
        let drop: (Unicode.Scalar) -> Bool = { c in set.map { $0.contains(c) } ?? isSpace(c) }
        var a = Array(s.unicodeScalars)[...]
        if leading { while let f = a.first, drop(f) { a = a.dropFirst() } }
        if trailing { while let l = a.last, drop(l) { a = a.dropLast() } }
        return string(a)
    }

    static func split(_ s: String, _ sep: String?, maxsplit: Int) throws -> [String] {
        let a = Array(s.unicodeScalars)
        guard let sep else {
            var out: [String] = []
            var i = 0
            while i < a.count {
                while i < a.count, isSpace(a[i]) { i += 1 }
                if i >= a.count { break }
                if maxsplit >= 0 && out.count == maxsplit {
                    out.append(string(a[i...]))
                    return out
                }
                let start = i
                while i < a.count, !isSpace(a[i]) { i += 1 }
                out.append(string(a[start..<i]))
            }
            return out
        }
        let p = Array(sep.unicodeScalars)
        guard !p.isEmpty else { throw TemplateError(message: "empty separator") }
        var out: [String] = []
        var start = 0, i = 0
        while i + p.count <= a.count {
            if maxsplit >= 0 && out.count == maxsplit { break }
            if a[i..<i + p.count].elementsEqual(p) {
                out.append(string(a[start..<i]))
                i += p.count
                start = i
            } else {
                i += 1
            }
        }
        out.append(string(a[start...]))
        return out
    }

    static func rsplit(_ s: String, _ sep: String?, maxsplit: Int) throws -> [String] {
        if maxsplit < 0 { return try split(s, sep, maxsplit: -1) }
        let rev = string(s.unicodeScalars.reversed())
        let revSep = sep.map { string($0.unicodeScalars.reversed()) }
        return try split(rev, revSep, maxsplit: maxsplit).reversed().map { string($0.unicodeScalars.reversed()) }
    }

    static func replace(_ s: String, _ old: String, _ new: String, count: Int) -> String {
        let a = Array(s.unicodeScalars), o = Array(old.unicodeScalars), n = Array(new.unicodeScalars)
        var out: [Unicode.Scalar] = []
        var done = 0
        if o.isEmpty {
            for c in a {
                if count < 0 || done < count { out += n; done += 1 }
                out.append(c)
            }
            if count < 0 || done < count { out += n }
            return string(out)
        }
        var i = 0
        while i < a.count {
            if (count < 0 || done < count), i + o.count <= a.count, a[i..<i + o.count].elementsEqual(o) {
                out += n
                i += o.count
                done += 1
            } else {
                out.append(a[i])
                i += 1
            }
        }
        return string(out)
    }

    static func find(_ s: String, _ sub: String, reverse: Bool = false) -> Int {
        let a = Array(s.unicodeScalars), p = Array(sub.unicodeScalars)
        guard p.count <= a.count else { return -1 }
        let range = Array(0...(a.count - p.count))
        for i in reverse ? range.reversed() : range where a[i..<i + p.count].elementsEqual(p) { return i }
        return -1
    }

    static func count(_ s: String, _ sub: String) -> Int {
        let a = Array(s.unicodeScalars), p = Array(sub.unicodeScalars)
        if p.isEmpty { return a.count + 1 }
        var i = 0, n = 0
        while i + p.count <= a.count {
            if a[i..<i + p.count].elementsEqual(p) { n += 1; i += p.count } else { i += 1 }
        }
        return n
    }

    static func splitlines(_ s: String, keepends: Bool = false) -> [String] {
        let a = Array(s.unicodeScalars)
        var out: [String] = []
        var start = 0, i = 0
        while i < a.count {
            let c = a[i].value
            if [0x0A, 0x0B, 0x0C, 0x0D, 0x1C, 0x1D, 0x1E, 0x85, 0x2028, 0x2029].contains(c) {
                var end = i + 1
                if c == 0x0D, i + 1 < a.count, a[i + 1] == "\n" { end = i + 2 }
                out.append(string(a[start..<(keepends ? end : i)]))
                i = end
                start = end
            } else {
                i += 1
            }
        }
        if start < a.count { out.append(string(a[start...])) }
        return out
    }

    static func isCased(_ c: Unicode.Scalar) -> Bool { c.properties.isCased }

    static func title(_ s: String) -> String {
        var out = ""
        var previousCased = false
        for c in s.unicodeScalars {
            let str = String(c)
            if isCased(c) {
                out += previousCased ? str.lowercased() : str.uppercased()
                previousCased = true
            } else {
                out += str
                previousCased = false
            }
        }
        return out
    }

    static func capitalize(_ s: String) -> String {
        guard let f = s.unicodeScalars.first else { return s }
        return String(f).uppercased() + string(s.unicodeScalars.dropFirst()).lowercased()
    }

    static func center(_ s: String, _ width: Int, fill: String = " ") -> String {
        let n = s.unicodeScalars.count
        guard width > n else { return s }
        let total = width - n
        // CPython puts the extra space on the left when the string length and width are both odd.
        let left = total / 2 + (total & width & 1)
        return String(repeating: fill, count: left) + s + String(repeating: fill, count: total - left)
    }
}
