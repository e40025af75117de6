/// Σ values with eight Float lanes (vectorized), finished in Double.
func fastSum(_ p: UnsafeBufferPointer<Float>) -> Double {
    guard let base = p.baseAddress else { return 0 }
    var acc = SIMD8<Float>()
    var i = 0
    while i + 8 <= p.count {
        acc += UnsafeRawPointer(base + i).loadUnaligned(as: SIMD8<Float>.self)
        i += 8
    }
    var total = 0.0
    for lane in 0..<8 { total += Double(acc[lane]) }
    while i < p.count {
        total += Double(p[i])
        i += 1
    }
    return total
}
