/// A token matched in the text before the model runs and never split (tokenizer.json's `added_tokens`).
public struct AddedToken: Sendable, Hashable {
    public let id: Int
    public let content: String
    public let special: Bool
    public let lstrip: Bool
    public let rstrip: Bool
    /// Matched against normalized text (true) or the raw text (false).
    public let normalized: Bool
    public let singleWord: Bool

    public init(id: Int, content: String, special: Bool, lstrip: Bool = false, rstrip: Bool = false,
                normalized: Bool = false, singleWord: Bool = false) {
        self.id = id
        self.content = content
        self.special = special
        self.lstrip = lstrip
        self.rstrip = rstrip
        self.normalized = normalized
        self.singleWord = singleWord
    }

    init(_ j: JSONNode) throws {
        guard let id = try j.required("id").int else { throw TokenizerError.invalidJSON("\(j.path).id must be an integer") }
        let special = j.bool("special", default: false)
        self.init(id: id, content: try j.requiredString("content"), special: special,
                  lstrip: j.bool("lstrip", default: false), rstrip: j.bool("rstrip", default: false),
                  normalized: j.bool("normalized", default: !special), singleWord: j.bool("single_word", default: false))
    }
}

/// Finds added tokens in text, leftmost first and longest among those starting at the same place
/// (as tokenizers' Aho-Corasick matcher does), with lstrip/rstrip/single_word applied.
struct AddedTokenMatcher: Sendable {
    private var children: [[UInt8: Int32]] = [[:]]
    private var terminal: [Int32] = [-1]       // index into tokens
    private var firstByte = [Bool](repeating: false, count: 256)
    let tokens: [AddedToken]

    /// `patterns[i]` is the text to look for for `tokens[i]` (normalized content for normalized tokens).
    init(tokens: [AddedToken], patterns: [[UInt8]]) {
        self.tokens = tokens
        for (index, pattern) in patterns.enumerated() where !pattern.isEmpty {
            var node = 0
            for b in pattern {
                if let next = children[node][b] {
                    node = Int(next)
                } else {
                    children.append([:])
                    terminal.append(-1)
                    children[node][b] = Int32(children.count - 1)
                    node = children.count - 1
                }
            }
            if terminal[node] < 0 { terminal[node] = Int32(index) }
            firstByte[Int(pattern[0])] = true
        }
    }

    var isEmpty: Bool { children.count == 1 }

    /// A piece of text: either plain text (`token == nil`) or one added token.
    struct Piece {
        var range: Range<Int>
        var token: AddedToken?
    }

    func split(_ p: UnsafeBufferPointer<UInt8>) -> [Piece] {
        let n = p.count
        var pieces: [Piece] = []
        var startOffset = 0
        var i = 0
        while i < n {
            if !firstByte[Int(p[i])] { i += 1; continue }
            var node = 0
            var k = i
            var found = -1
            var foundEnd = i
            while k < n, let next = children[node][p[k]] {
                node = Int(next)
                k += 1
                if terminal[node] >= 0 {
                    found = Int(terminal[node])
                    foundEnd = k
                }
            }
            if found < 0 { i += 1; continue }
            let token = tokens[found]
            var start = i
            var stop = foundEnd
            i = foundEnd
            if token.singleWord {
                let startSpace = start == 0 || !Self.isWordScalar(Self.scalarBefore(p, start))
                let stopSpace = stop == n || !Self.isWordScalar(decodeScalar(p, stop, n).scalar)
                if !startSpace || !stopSpace { continue }
            }
            if token.lstrip {
                var s = start
                while s > 0 {
                    var b = s - 1
                    while b > 0, p[b] & 0xC0 == 0x80 { b -= 1 }
                    if !ScalarClass.of(decodeScalar(p, b, n).scalar).contains(.whitespace) { break }
                    s = b
                }
                start = max(s, startOffset)
            }
            if token.rstrip {
                while stop < n {
                    let (s, len) = decodeScalar(p, stop, n)
                    if !ScalarClass.of(s).contains(.whitespace) { break }
                    stop += len
                }
                i = stop
            }
            if startOffset < start { pieces.append(Piece(range: startOffset..<start, token: nil)) }
            pieces.append(Piece(range: start..<stop, token: token))
            startOffset = stop
        }
        if startOffset < n { pieces.append(Piece(range: startOffset..<n, token: nil)) }
        return pieces
    }

    private static func scalarBefore(_ p: UnsafeBufferPointer<UInt8>, _ i: Int) -> UInt32 {
        var b = i - 1
        while b > 0, p[b] & 0xC0 == 0x80 { b -= 1 }
        return decodeScalar(p, b, p.count).scalar
    }

    private static func isWordScalar(_ s: UInt32) -> Bool {
        s == 0x5F || !ScalarClass.of(s).isDisjoint(with: [.letter, .number, .mark])
    }
}
