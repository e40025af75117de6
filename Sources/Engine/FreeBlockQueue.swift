/// Free KV blocks in least-recently-freed order, as an intrusive doubly linked list over block ids
/// so that a prefix-cache hit can take a block out of the middle in O(1) (vLLM's
/// `FreeKVCacheBlockQueue`). Blocks are evicted from the front.
struct FreeBlockQueue {
    private var prev: [Int32]
    private var next: [Int32]
    private var inQueue: [Bool]
    private let sentinel: Int32
    private(set) var count = 0

    init(numBlocks: Int) {
        sentinel = Int32(numBlocks)
        prev = Array(repeating: sentinel, count: numBlocks + 1)
        next = Array(repeating: sentinel, count: numBlocks + 1)
        inQueue = Array(repeating: false, count: numBlocks)
        for block in 0..<Int32(numBlocks) { append(block) }
    }

    func contains(_ block: Int32) -> Bool { inQueue[Int(block)] }

    mutating func append(_ block: Int32) {
        precondition(!inQueue[Int(block)], "block \(block) freed twice")
        let last = prev[Int(sentinel)]
        next[Int(last)] = block
        prev[Int(block)] = last
        next[Int(block)] = sentinel
        prev[Int(sentinel)] = block
        inQueue[Int(block)] = true
        count += 1
    }

    mutating func remove(_ block: Int32) {
        precondition(inQueue[Int(block)])
        let p = prev[Int(block)], n = next[Int(block)]
        next[Int(p)] = n
        prev[Int(n)] = p
        inQueue[Int(block)] = false
        count -= 1
    }

    /// Takes the least recently freed block.
    mutating func popFirst() -> Int32? {
        let first = next[Int(sentinel)]
        guard first != sentinel else { return nil }
        remove(first)
        return first
    }
}
