/// Identity of a full block's contents: its parent's hash and its own tokens. Dictionary lookups
/// compare the tokens too, so a hash collision can never serve the wrong block.
struct BlockKey: Hashable {
    let parent: Int
    let tokens: [Int32]
}

/// The pool of fixed-size KV blocks: per-sequence block tables, reference counts, and automatic
/// prefix caching — a full block is registered under the hash of (parent hash, tokens); freed
/// cached blocks stay reusable until evicted least-recently-used.
final class KVCacheManager {
    let numBlocks: Int
    let blockSize: Int
    let enablePrefixCaching: Bool

    private var refCount: [Int32]
    private var keyOfBlock: [BlockKey?]
    private var cachedBlocks: [BlockKey: Int32] = [:]
    private var freeQueue: FreeBlockQueue
    /// Hashes of each sequence's full blocks, in order (the chain used for the next block).
    private var blockHashes: [Int: [Int]] = [:]

    // Prefix-cache statistics (in tokens).
    private(set) var prefixQueries = 0
    private(set) var prefixHits = 0

    init(numBlocks: Int, blockSize: Int, enablePrefixCaching: Bool = true) {
        self.numBlocks = numBlocks
        self.blockSize = blockSize
        self.enablePrefixCaching = enablePrefixCaching
        refCount = Array(repeating: 0, count: numBlocks)
        keyOfBlock = Array(repeating: nil, count: numBlocks)
        freeQueue = FreeBlockQueue(numBlocks: numBlocks)
    }

    var numFreeBlocks: Int { freeQueue.count }
    var usage: Double { numBlocks == 0 ? 0 : 1 - Double(freeQueue.count) / Double(numBlocks) }

    func blocksNeeded(tokens: Int) -> Int { (tokens + blockSize - 1) / blockSize }

    /// Cached blocks holding a prefix of `seq`'s tokens, at most `numTokens - 1` tokens' worth so
    /// that the last token is recomputed to produce logits.
    func cachedPrefix(of seq: Sequence) -> [Int32] {
        guard enablePrefixCaching else { return [] }
        var blocks: [Int32] = []
        var parent = 0
        let maxBlocks = (seq.numTokens - 1) / blockSize
        for i in 0..<maxBlocks {
            let key = BlockKey(parent: parent, tokens: Array(seq.tokens[i * blockSize ..< (i + 1) * blockSize]))
            guard let block = cachedBlocks[key] else { break }
            blocks.append(block)
            parent = key.hashValue
        }
        return blocks
    }

    /// Gives `seq` blocks for `numNewTokens` more tokens; on admission (`seq.blockTable` empty)
    /// first takes the cached prefix `prefix`. Returns false, changing nothing, when the pool is short.
    func allocate(_ seq: Sequence, numNewTokens: Int, prefix: [Int32] = []) -> Bool {
        let reusedFree = prefix.filter { freeQueue.contains($0) }.count
        let have = seq.blockTable.count + prefix.count
        let needTokens = seq.numComputedTokens + prefix.count * blockSize + numNewTokens
        let fresh = max(0, blocksNeeded(tokens: needTokens) - have)
        guard fresh + reusedFree <= freeQueue.count else { return false }
        if !prefix.isEmpty {
            prefixQueries += seq.numTokens
            prefixHits += prefix.count * blockSize
            var hashes: [Int] = []
            for block in prefix {
                if freeQueue.contains(block) { freeQueue.remove(block) }
                refCount[Int(block)] += 1
                hashes.append(keyOfBlock[Int(block)]!.hashValue)
            }
            seq.blockTable = prefix
            seq.numComputedTokens = prefix.count * blockSize
            seq.numCachedTokens = seq.numComputedTokens
            blockHashes[seq.id] = hashes
        } else if seq.blockTable.isEmpty && enablePrefixCaching {
            prefixQueries += seq.numTokens
        }
        for _ in 0..<fresh {
            let block = freeQueue.popFirst()!
            if let key = keyOfBlock[Int(block)] {   // evict its cached contents
                cachedBlocks.removeValue(forKey: key)
                keyOfBlock[Int(block)] = nil
            }
            refCount[Int(block)] = 1
            seq.blockTable.append(block)
        }
        return true
    }

    /// Registers in the prefix cache `seq`'s full blocks among its first `numTokens` tokens, which
    /// must be known and have their KV computed or enqueued (a later step reads them after it).
    func cacheFullBlocks(_ seq: Sequence, numTokens: Int) {
        guard enablePrefixCaching else { return }
        var hashes = blockHashes[seq.id] ?? []
        let full = min(numTokens, seq.tokens.count) / blockSize
        while hashes.count < full {
            let i = hashes.count
            let key = BlockKey(parent: hashes.last ?? 0, tokens: Array(seq.tokens[i * blockSize ..< (i + 1) * blockSize]))
            let block = seq.blockTable[i]
            if cachedBlocks[key] == nil && keyOfBlock[Int(block)] == nil {
                cachedBlocks[key] = block
                keyOfBlock[Int(block)] = key
            }
            hashes.append(key.hashValue)
        }
        blockHashes[seq.id] = hashes
    }

    /// Returns `seq`'s blocks to the pool, last block first so a sequence's tail is evicted before
    /// its (more shareable) head.
    func free(_ seq: Sequence) {
        for block in seq.blockTable.reversed() {
            refCount[Int(block)] -= 1
            if refCount[Int(block)] == 0 { freeQueue.append(block) }
        }
        seq.blockTable = []
        blockHashes[seq.id] = nil
    }
}
