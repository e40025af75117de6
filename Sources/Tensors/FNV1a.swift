/// The 64-bit FNV-1a hash: stable across processes and machines (unlike `Hasher`), for names of
/// weights (dummy-weight seeds), kernel sources (the NVRTC cache key) and test fingerprints.
public enum FNV1a {
    public static func hash<Bytes: Sequence>(_ bytes: Bytes) -> UInt64 where Bytes.Element == UInt8 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in bytes { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
        return hash
    }
}
