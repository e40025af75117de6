import Foundation

/// Byte-pair encoding over the bytes of one pre-tokenized word.
///
/// Byte-level vocabularies are stored by the raw bytes their tokens stand for, so the model never builds
/// the GPT-2 character form of the text; other vocabularies (SentencePiece style) start from one symbol
/// per character, with `<0xXX>` byte tokens or `unk` for characters outside the vocabulary.
final class BPEModel: Sendable {
    let byteLevel: Bool
    let byteFallback: Bool
    let ignoreMerges: Bool
    let fuseUnk: Bool
    let unkId: Int32?
    /// Token bytes -> id (raw bytes for byte-level vocabularies, UTF-8 otherwise).
    let vocab: [[UInt8]: Int32]
    /// (left id << 32 | right id) -> (rank << 32 | merged id).
    let merges: [UInt64: UInt64]
    /// Id of each single byte (byte-level) or of `<0xXX>` (byte fallback); -1 where absent.
    let byteIds: [Int32]
    /// Id of each single-scalar token (character-level start).
    let scalarIds: [UInt32: Int32]
    private let cache = WordCache()

    /// `tokens` are the vocabulary's strings by id, `merges` pairs of token strings by rank.
    init(vocab tokens: [String: Int], merges mergeList: [(String, String)], byteLevel: Bool, byteFallback: Bool,
         ignoreMerges: Bool, fuseUnk: Bool, unkToken: String?) throws {
        self.byteLevel = byteLevel
        self.byteFallback = byteFallback
        self.ignoreMerges = ignoreMerges
        self.fuseUnk = fuseUnk
        var v: [[UInt8]: Int32] = [:]
        v.reserveCapacity(tokens.count)
        var scalars: [UInt32: Int32] = [:]
        for (t, id) in tokens {
            if byteLevel {
                guard let b = ByteLevelAlphabet.bytes(of: t) else { continue }
                v[b] = Int32(id)
            } else {
                v[Array(t.utf8)] = Int32(id)
                let us = t.unicodeScalars
                if us.count == 1 { scalars[us.first!.value] = Int32(id) }
            }
        }
        self.vocab = v
        self.scalarIds = scalars
        var bytes = [Int32](repeating: -1, count: 256)
        for b in 0..<256 {
            if byteLevel {
                bytes[b] = v[[UInt8(b)]] ?? -1
            } else if byteFallback {
                bytes[b] = tokens[String(format: "<0x%02X>", b)].map(Int32.init) ?? -1
            }
        }
        self.byteIds = bytes
        if let unk = unkToken {
            guard let id = tokens[unk] else { throw TokenizerError.invalidVocabulary("unk_token \(unk) is not in the vocabulary") }
            self.unkId = Int32(id)
        } else {
            self.unkId = nil
        }
        var m: [UInt64: UInt64] = [:]
        m.reserveCapacity(mergeList.count)
        for (rank, (a, b)) in mergeList.enumerated() {
            guard let ia = tokens[a], let ib = tokens[b], let ic = tokens[a + b] else {
                throw TokenizerError.invalidVocabulary("merge \"\(a) \(b)\" uses a token that is not in the vocabulary")
            }
            let key = UInt64(UInt32(ia)) << 32 | UInt64(UInt32(ib))
            if m[key] == nil { m[key] = UInt64(rank) << 32 | UInt64(UInt32(ic)) }
        }
        self.merges = m
    }

    /// Appends the ids of the word `p[range]`.
    @inline(__always)
    func encodeWord(_ p: UnsafeBufferPointer<UInt8>, _ range: Range<Int>, into out: inout [Int]) {
        let word = UnsafeBufferPointer(rebasing: p[range])
        if cache.lookup(word, into: &out) { return }
        var ids: [Int32] = []
        ids.reserveCapacity(word.count)
        merge(word, &ids)
        cache.insert(word, ids)
        for id in ids { out.append(Int(id)) }
    }

    private func merge(_ word: UnsafeBufferPointer<UInt8>, _ ids: inout [Int32]) {
        if ignoreMerges, let id = vocab[Array(word)] {
            ids.append(id)
            return
        }
        // Initial symbols.
        if byteLevel {
            for b in word {
                let id = byteIds[Int(b)]
                if id >= 0 { ids.append(id) } else if let unk = unkId { appendUnk(unk, &ids) }
            }
        } else {
            var i = 0
            var lastWasUnk = false
            while i < word.count {
                let (s, n) = decodeScalar(word, i, word.count)
                let id: Int32? = n == 1 && word[i] >= 0x80 ? nil : scalarIds[s]
                if let id {
                    ids.append(id)
                    lastWasUnk = false
                } else if byteFallback, (i..<(i + n)).allSatisfy({ byteIds[Int(word[$0])] >= 0 }) {
                    for k in i..<(i + n) { ids.append(byteIds[Int(word[k])]) }
                    lastWasUnk = false
                } else if let unk = unkId {
                    if !(fuseUnk && lastWasUnk) { ids.append(unk) }
                    lastWasUnk = true
                }
                i += n
            }
        }
        if ids.count < 2 { return }
        if ids.count <= 24 {
            mergeSmall(&ids)
        } else {
            mergeLarge(&ids)
        }
    }

    private func appendUnk(_ unk: Int32, _ ids: inout [Int32]) {
        if fuseUnk, ids.last == unk { return }
        ids.append(unk)
    }

    /// Lowest rank first, leftmost among equals: a quadratic scan that wins for short words.
    private func mergeSmall(_ ids: inout [Int32]) {
        while ids.count > 1 {
            var bestRank = UInt64.max
            var bestPos = -1
            var bestId: Int32 = 0
            for i in 0..<(ids.count - 1) {
                let key = UInt64(UInt32(bitPattern: ids[i])) << 32 | UInt64(UInt32(bitPattern: ids[i + 1]))
                if let m = merges[key], m >> 32 < bestRank {
                    bestRank = m >> 32
                    bestPos = i
                    bestId = Int32(truncatingIfNeeded: m & 0xFFFF_FFFF)
                }
            }
            if bestPos < 0 { return }
            ids[bestPos] = bestId
            ids.remove(at: bestPos + 1)
        }
    }

    /// The same order with a priority queue over a linked list of symbols, for long words.
    private func mergeLarge(_ ids: inout [Int32]) {
        let n = ids.count
        var sym = ids
        var next = Array(1...n).map { $0 == n ? -1 : $0 }
        var prev = Array(-1..<(n - 1))
        var alive = [Bool](repeating: true, count: n)
        var heap = MergeHeap()
        func push(_ i: Int) {
            let j = next[i]
            guard j >= 0 else { return }
            let key = UInt64(UInt32(bitPattern: sym[i])) << 32 | UInt64(UInt32(bitPattern: sym[j]))
            if let m = merges[key] {
                heap.push(rank: UInt32(m >> 32), pos: UInt32(i), newId: Int32(truncatingIfNeeded: m & 0xFFFF_FFFF))
            }
        }
        for i in 0..<(n - 1) { push(i) }
        while let top = heap.pop() {
            let i = Int(top.pos)
            guard alive[i], next[i] >= 0 else { continue }
            let j = next[i]
            let key = UInt64(UInt32(bitPattern: sym[i])) << 32 | UInt64(UInt32(bitPattern: sym[j]))
            guard let m = merges[key], Int32(truncatingIfNeeded: m & 0xFFFF_FFFF) == top.newId else { continue }
            sym[i] = top.newId
            alive[j] = false
            next[i] = next[j]
            if next[j] >= 0 { prev[next[j]] = i }
            if prev[i] >= 0 { push(prev[i]) }
            push(i)
        }
        ids.removeAll(keepingCapacity: true)
        var i = 0
        while i >= 0 {
            ids.append(sym[i])
            i = next[i]
        }
    }
}

/// Min-heap of candidate merges ordered by (rank, position).
struct MergeHeap {
    struct Entry {
        var key: UInt64  // rank << 32 | pos
        var newId: Int32
        var pos: UInt32 { UInt32(truncatingIfNeeded: key) }
    }
    var items: [Entry] = []

    mutating func push(rank: UInt32, pos: UInt32, newId: Int32) {
        items.append(Entry(key: UInt64(rank) << 32 | UInt64(pos), newId: newId))
        var c = items.count - 1
        while c > 0 {
            let p = (c - 1) / 2
            if items[p].key <= items[c].key { break }
            items.swapAt(p, c)
            c = p
        }
    }

    mutating func pop() -> Entry? {
        guard let first = items.first else { return nil }
        let last = items.removeLast()
        if !items.isEmpty {
            items[0] = last
            var p = 0
            while true {
                let l = 2 * p + 1, r = l + 1
                var m = p
                if l < items.count, items[l].key < items[m].key { m = l }
                if r < items.count, items[r].key < items[m].key { m = r }
                if m == p { break }
                items.swapAt(p, m)
                p = m
            }
        }
        return first
    }
}

/// Bounded cache of word -> ids, an open-addressing table over one byte arena, behind a lock.
/// When it fills up it starts over, which keeps memory bounded without per-entry bookkeeping.
final class WordCache: @unchecked Sendable {
    private struct Entry {
        var hash: UInt64
        var keyStart: Int32
        var keyLength: Int32
        var valueStart: Int32
        var valueLength: Int32
    }
    private let lock = NSLock()
    private var slots: [Int32]          // index into entries, -1 when empty
    private var entries: [Entry] = []
    private var keyArena: [UInt8] = []
    private var valueArena: [Int32] = []
    private let capacity = 1 << 17      // slots; at most half of them used
    private let maxWordLength = 256

    init() {
        slots = [Int32](repeating: -1, count: capacity)
    }

    @inline(__always)
    private static func hash(_ w: UnsafeBufferPointer<UInt8>) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in w {
            h = (h ^ UInt64(b)) &* 0x100_0000_01b3
        }
        return h ^ (h >> 29)
    }

    func lookup(_ w: UnsafeBufferPointer<UInt8>, into out: inout [Int]) -> Bool {
        guard w.count <= maxWordLength else { return false }
        let h = Self.hash(w)
        let mask = capacity - 1
        lock.lock()
        defer { lock.unlock() }
        // One access to each stored array per lookup (not one per element).
        let found: Entry? = slots.withUnsafeBufferPointer { sp in
            entries.withUnsafeBufferPointer { ep in
                keyArena.withUnsafeBufferPointer { kp in
                    var s = Int(h & UInt64(mask))
                    while true {
                        let e = Int(sp[s])
                        if e < 0 { return nil }
                        let entry = ep[e]
                        if entry.hash == h, Int(entry.keyLength) == w.count,
                           memcmp(kp.baseAddress! + Int(entry.keyStart), w.baseAddress!, w.count) == 0 {
                            return entry
                        }
                        s = (s + 1) & mask
                    }
                }
            }
        }
        guard let entry = found else { return false }
        valueArena.withUnsafeBufferPointer { vp in
            for k in Int(entry.valueStart)..<Int(entry.valueStart + entry.valueLength) { out.append(Int(vp[k])) }
        }
        return true
    }

    func insert(_ w: UnsafeBufferPointer<UInt8>, _ ids: [Int32]) {
        guard w.count <= maxWordLength, w.count > 0 else { return }
        let h = Self.hash(w)
        lock.lock()
        defer { lock.unlock() }
        if entries.count >= capacity / 2 || keyArena.count > 1 << 24 {
            slots.withUnsafeMutableBufferPointer { sp in
                for i in sp.indices { sp[i] = -1 }
            }
            entries.removeAll(keepingCapacity: true)
            keyArena.removeAll(keepingCapacity: true)
            valueArena.removeAll(keepingCapacity: true)
        }
        var s = Int(h & UInt64(capacity - 1))
        while slots[s] >= 0 { s = (s + 1) & (capacity - 1) }
        slots[s] = Int32(entries.count)
        entries.append(Entry(hash: h, keyStart: Int32(keyArena.count), keyLength: Int32(w.count),
                             valueStart: Int32(valueArena.count), valueLength: Int32(ids.count)))
        keyArena.append(contentsOf: w)
        valueArena.append(contentsOf: ids)
    }
}
