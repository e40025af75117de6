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
        let sum = values.withUnsafeBufferPointer { p in
            var s = 0.0
            for v in p { s += Double(expf(v - m)) }
            return s
        }
        return m + Float(log(sum))
    }
}
