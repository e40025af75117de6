/// Character classes the pre-tokenizer regexes ask about, one bit each, looked up per Unicode scalar.
struct ScalarClass: OptionSet, Sendable {
    let rawValue: UInt8
    static let letter = ScalarClass(rawValue: 1)       // \p{L}
    static let number = ScalarClass(rawValue: 2)       // \p{N}
    static let whitespace = ScalarClass(rawValue: 4)   // \s (White_Space)
    static let newline = ScalarClass(rawValue: 8)      // \r or \n
    static let punctuation = ScalarClass(rawValue: 16) // \p{P}
    static let mark = ScalarClass(rawValue: 32)        // \p{M}

    static func compute(_ v: UInt32) -> ScalarClass {
        guard let s = Unicode.Scalar(v) else { return [] }
        var c: ScalarClass = []
        let p = s.properties
        switch p.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: c.insert(.letter)
        case .decimalNumber, .letterNumber, .otherNumber: c.insert(.number)
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation, .initialPunctuation,
             .finalPunctuation, .otherPunctuation: c.insert(.punctuation)
        case .nonspacingMark, .spacingMark, .enclosingMark: c.insert(.mark)
        default: break
        }
        if p.isWhitespace { c.insert(.whitespace) }
        if v == 0x0A || v == 0x0D { c.insert(.newline) }
        return c
    }

    /// Classes of the Basic Multilingual Plane, computed once; scalars above it are classified on demand.
    static let bmp: [ScalarClass] = (0..<0x10000).map { compute(UInt32($0)) }

    @inline(__always) static func of(_ v: UInt32) -> ScalarClass {
        v < 0x10000 ? bmp[Int(v)] : compute(v)
    }
}

/// UTF-8 decoding of one scalar at `i` (`i < end`); invalid bytes decode as themselves, one byte long.
@inline(__always)
func decodeScalar(_ p: UnsafeBufferPointer<UInt8>, _ i: Int, _ end: Int) -> (scalar: UInt32, length: Int) {
    let b0 = UInt32(p[i])
    if b0 < 0x80 { return (b0, 1) }
    if b0 >= 0xF0, i + 3 < end {
        return (((b0 & 0x07) << 18) | (UInt32(p[i + 1] & 0x3F) << 12) | (UInt32(p[i + 2] & 0x3F) << 6) | UInt32(p[i + 3] & 0x3F), 4)
    }
    if b0 >= 0xE0, i + 2 < end {
        return (((b0 & 0x0F) << 12) | (UInt32(p[i + 1] & 0x3F) << 6) | UInt32(p[i + 2] & 0x3F), 3)
    }
    if b0 >= 0xC0, i + 1 < end {
        return (((b0 & 0x1F) << 6) | UInt32(p[i + 1] & 0x3F), 2)
    }
    return (b0, 1)
}

/// The class of the scalar at `i` and its length in bytes.
@inline(__always)
func classAt(_ p: UnsafeBufferPointer<UInt8>, _ i: Int, _ end: Int) -> (ScalarClass, Int) {
    let b = p[i]
    if b < 0x80 { return (asciiClasses[Int(b)], 1) }
    let (s, n) = decodeScalar(p, i, end)
    return (ScalarClass.of(s), n)
}

let asciiClasses: [ScalarClass] = (0..<128).map { ScalarClass.compute(UInt32($0)) }

/// GPT-2's reversible map between bytes and printable characters, used by byte-level BPE.
enum ByteLevelAlphabet {
    static let byteToScalar: [UInt32] = {
        var table = [UInt32](repeating: 0, count: 256)
        var n: UInt32 = 0
        for b in 0..<256 {
            let printable = (0x21...0x7E).contains(b) || (0xA1...0xAC).contains(b) || (0xAE...0xFF).contains(b)
            if printable {
                table[b] = UInt32(b)
            } else {
                table[b] = 256 + n
                n += 1
            }
        }
        return table
    }()

    /// Indexed by scalar value (all below U+0144); -1 for characters outside the alphabet.
    static let scalarToByte: [Int16] = {
        var table = [Int16](repeating: -1, count: 0x144)
        for (b, s) in byteToScalar.enumerated() { table[Int(s)] = Int16(b) }
        return table
    }()

    /// The raw bytes a byte-level token string stands for, or nil if it has characters outside the alphabet.
    static func bytes(of token: String) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(token.utf8.count)
        for s in token.unicodeScalars {
            guard s.value < 0x144 else { return nil }
            let b = scalarToByte[Int(s.value)]
            guard b >= 0 else { return nil }
            out.append(UInt8(b))
        }
        return out
    }

    static func string(of bytes: some Sequence<UInt8>) -> String {
        var s = String.UnicodeScalarView()
        for b in bytes { s.append(Unicode.Scalar(byteToScalar[Int(b)])!) }
        return String(s)
    }
}
