import Foundation

/// Partial selection over one vocabulary row: the sampler never sorts the whole vocabulary.
enum Selection {
    /// The k-th largest value (1-based k, 1 ≤ k ≤ count): quickselect with a three-way partition,
    /// expected O(n) and robust to many equal values (masked -inf logits).
    static func kthLargest(_ values: [Float], _ k: Int) -> Float {
        precondition(k >= 1 && k <= values.count)
        var a = values
        return a.withUnsafeMutableBufferPointer { a in
            var lo = 0, hi = a.count - 1
            let target = k - 1
            while lo < hi {
                let mid = lo + (hi - lo) / 2
                let x = a[lo], y = a[mid], z = a[hi]
                let pivot = max(min(x, y), min(max(x, y), z))
                // Descending: [lo, lt) > pivot, [lt, i) == pivot, (gt, hi] < pivot.
                var lt = lo, i = lo, gt = hi
                while i <= gt {
                    let v = a[i]
                    if v > pivot {
                        a.swapAt(lt, i)
                        lt += 1
                        i += 1
                    } else if v < pivot {
                        a.swapAt(i, gt)
                        gt -= 1
                    } else {
                        i += 1
                    }
                }
                if target < lt { hi = lt - 1 } else if target > gt { lo = gt + 1 } else { return pivot }
            }
            return a[target]
        }
    }

    /// Indices of the `n` largest values, largest first; equal values in index order.
    static func topIndices(_ values: [Float], _ n: Int) -> [Int] {
        guard n > 0 else { return [] }
        let order: (Int, Int) -> Bool = { values[$0] > values[$1] || (values[$0] == values[$1] && $0 < $1) }
        if n * 4 >= values.count { return Array(values.indices.sorted(by: order).prefix(n)) }
        let kth = kthLargest(values, n)
        var above: [Int] = []
        var equal: [Int] = []
        for (i, v) in values.enumerated() {
            if v > kth { above.append(i) } else if v == kth, equal.count < n { equal.append(i) }
        }
        above.sort(by: order)
        return Array((above + equal).prefix(n))
    }

    /// log Σ exp(values), stable.
    static func logSumExp(_ values: [Float]) -> Float {
        var m = -Float.infinity
        for v in values where v > m { m = v }
        guard m > -.infinity else { return m }
        var sum = 0.0
        for v in values { sum += Double(expf(v - m)) }
        return m + Float(log(sum))
    }

    /// vLLM's top-p rule over weighted candidates: keep a token iff the mass of strictly more
    /// likely tokens (in the sorted order) is below `topP` of the total, so the most likely token
    /// always stays. Candidates are first grouped by binary exponent of their weight; only the
    /// group where the cumulative mass crosses `topP` is sorted.
    static func nucleus(_ kept: [(id: Int32, weight: Float)], topP: Double) -> [(id: Int32, weight: Float)] {
        guard kept.count > 1 else { return kept }
        var total = 0.0
        for c in kept { total += Double(c.weight) }
        let target = topP * total
        let order: ((id: Int32, weight: Float), (id: Int32, weight: Float)) -> Bool = {
            $0.weight > $1.weight || ($0.weight == $1.weight && $0.id < $1.id)
        }
        func cut(_ sorted: [(id: Int32, weight: Float)], before: Double) -> [(id: Int32, weight: Float)] {
            var cumulative = before
            var n = 0
            for c in sorted {
                if n > 0, cumulative >= target { break }
                cumulative += Double(c.weight)
                n += 1
            }
            return Array(sorted.prefix(n))
        }
        if kept.count <= 2048 { return cut(kept.sorted(by: order), before: 0) }
        // Weights are in [0, 1]; bucket b holds weights in [2^-(b+1), 2^-b).
        let buckets = 160
        func bucket(_ w: Float) -> Int { w >= 1 ? 0 : (w > 0 ? min(buckets - 1, Int(-w.exponent) - 1) : buckets - 1) }
        var mass = [Double](repeating: 0, count: buckets)
        for c in kept { mass[bucket(c.weight)] += Double(c.weight) }
        var before = 0.0
        var crossing = buckets - 1
        for b in 0..<buckets {
            if before + mass[b] >= target { crossing = b; break }
            before += mass[b]
        }
        var result: [(id: Int32, weight: Float)] = []
        var boundary: [(id: Int32, weight: Float)] = []
        for c in kept {
            let b = bucket(c.weight)
            if b < crossing { result.append(c) } else if b == crossing { boundary.append(c) }
        }
        return result + cut(boundary.sorted(by: order), before: before)
    }
}
