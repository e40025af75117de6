/// What one step computes: each scheduled sequence with how many of its tokens to run.
struct SchedulerOutput {
    struct Entry {
        let seq: Sequence
        let numTokens: Int
    }
    var entries: [Entry] = []
    var preempted: [Sequence] = []
    /// Set when a schedule that may not preempt ran out of blocks: it stopped there.
    var blocked = false
    var totalTokens: Int { entries.reduce(0) { $0 + $1.numTokens } }
    var isEmpty: Bool { entries.isEmpty }
}

/// Continuous batching under a token budget. Running sequences go first (decodes and unfinished
/// prefill chunks), then waiting ones are admitted while budget, sequence slots and KV blocks last.
/// When blocks run out, the most recently admitted running sequence is preempted and recomputed later.
final class Scheduler {
    let kvCache: KVCacheManager
    let maxNumSeqs: Int
    let maxNumBatchedTokens: Int
    let enableChunkedPrefill: Bool
    private(set) var waiting: [Sequence] = []
    private(set) var running: [Sequence] = []

    init(kvCache: KVCacheManager, maxNumSeqs: Int, maxNumBatchedTokens: Int, enableChunkedPrefill: Bool = true) {
        self.kvCache = kvCache
        self.maxNumSeqs = maxNumSeqs
        self.maxNumBatchedTokens = maxNumBatchedTokens
        self.enableChunkedPrefill = enableChunkedPrefill
    }

    var hasWork: Bool { !waiting.isEmpty || !running.isEmpty }

    func add(_ seq: Sequence) { waiting.append(seq) }

    /// The next step. With `canPreempt` false (a step is still in flight, whose sequences must
    /// keep their blocks) it stops where blocks run out instead, with `blocked` set.
    func schedule(canPreempt: Bool = true) -> SchedulerOutput {
        var out = SchedulerOutput()
        var budget = maxNumBatchedTokens
        var index = 0
        while index < running.count && budget > 0 {
            let seq = running[index]
            let n = min(seq.numTokens - seq.numComputedTokens, budget)
            // A pending token that makes max_tokens ends the sequence when its step finishes.
            if n == 0 || (seq.numPendingTokens > 0 && seq.reachesMaxTokens) {
                index += 1
                continue
            }
            var scheduled = false
            while n > 0 {
                if kvCache.allocate(seq, numNewTokens: n) {
                    scheduled = true
                    break
                }
                guard canPreempt else {
                    out.blocked = true
                    return out
                }
                // Out of blocks: preempt the newest running sequence (possibly this one).
                let victim = running.removeLast()
                kvCache.free(victim)
                victim.resetForRecompute()
                waiting.insert(victim, at: 0)
                out.preempted.append(victim)
                if victim === seq { break }
            }
            guard scheduled else { continue }
            out.entries.append(.init(seq: seq, numTokens: n))
            budget -= n
            index += 1
        }
        // Admit waiting sequences only when nothing was preempted this step.
        while out.preempted.isEmpty, let seq = waiting.first, running.count < maxNumSeqs, budget > 0 {
            let prefix = seq.blockTable.isEmpty ? kvCache.cachedPrefix(of: seq) : []
            let remaining = seq.numTokens - seq.numComputedTokens - prefix.count * kvCache.blockSize
            if !enableChunkedPrefill && remaining > budget { break }
            let n = min(remaining, budget)
            guard kvCache.allocate(seq, numNewTokens: n, prefix: prefix) else { break }
            waiting.removeFirst()
            running.append(seq)
            out.entries.append(.init(seq: seq, numTokens: n))
            budget -= n
        }
        return out
    }

    /// Drops finished sequences from the running queue and frees their blocks.
    func finish(_ seq: Sequence) {
        kvCache.free(seq)
        running.removeAll { $0 === seq }
        waiting.removeAll { $0 === seq }
    }
}
