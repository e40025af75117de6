/// The values of `--load-format dummy` matrices as a pure function of a tensor's seed and an
/// element's index, so that a backend can generate them where the tensor lives (CUDA's
/// `dummy_fill_bf16` computes the same) and every backend gets the same model.
///
/// Element i of a tensor belongs to chunk c = i / 2¹⁶ and to draw k = (i mod 2¹⁶) / 4 of that
/// chunk: splitmix64's output for the state seed + c·0xD1B54A32D192ED03 + (k + 1)·0x9E3779B97F4A7C15
/// gives four 16-bit draws, u, for elements 4k … 4k + 3, each mapped to (u / 32768 − 1) · 0.02,
/// uniform in [−0.02, 0.02). Chunks are independent so that hosts fill them in parallel.
public enum DummyValues {
    public static let scale: Float = 0.02
    public static let chunkSize = 1 << 16  // `draws` shifts by 16
    @usableFromInline static let chunkStride: UInt64 = 0xD1B5_4A32_D192_ED03
    @usableFromInline static let golden: UInt64 = 0x9E37_79B9_7F4A_7C15

    /// A tensor's seed: the model's seed and the FNV-1a hash of its checkpoint name (the same in
    /// every process, unlike `Hasher`).
    public static func seed(name: String, base: UInt64 = 0) -> UInt64 { base ^ FNV1a.hash(name.utf8) }

    /// Element `index` of the tensor with `seed`.
    public static func value(seed: UInt64, index: Int) -> Float {
        value(draw: UInt16(truncatingIfNeeded: draws(seed: seed, at: index) >> (16 * UInt64(index & 3))))
    }

    /// Fills `range` (from a multiple of 4) with `value(seed:index:)`, one splitmix64 step per
    /// four elements. Inlinable: the loaders' per-element closure must not be an indirect call.
    @inlinable
    public static func fill(seed: UInt64, range: Range<Int>, _ store: (Int, Float) -> Void) {
        precondition(range.lowerBound % 4 == 0)
        var i = range.lowerBound
        while i < range.upperBound {
            let bits = draws(seed: seed, at: i)
            if i + 4 <= range.upperBound {
                store(i, value(draw: UInt16(truncatingIfNeeded: bits)))
                store(i + 1, value(draw: UInt16(truncatingIfNeeded: bits >> 16)))
                store(i + 2, value(draw: UInt16(truncatingIfNeeded: bits >> 32)))
                store(i + 3, value(draw: UInt16(truncatingIfNeeded: bits >> 48)))
            } else {
                for j in 0 ..< range.upperBound - i {
                    store(i + j, value(draw: UInt16(truncatingIfNeeded: bits >> (16 * UInt64(j)))))
                }
            }
            i += 4
        }
    }

    /// The four 16-bit draws of the group of 4 elements holding `index` (chunks of 2¹⁶ elements).
    @inlinable
    static func draws(seed: UInt64, at index: Int) -> UInt64 {
        mix(seed &+ UInt64(index >> 16) &* chunkStride &+ UInt64((index & 0xFFFF) >> 2 + 1) &* golden)
    }

    @inlinable
    static func value(draw: UInt16) -> Float { (Float(draw) * (1.0 / 32768.0) - 1) * scale }

    /// splitmix64's output function.
    @inlinable
    static func mix(_ state: UInt64) -> UInt64 {
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
