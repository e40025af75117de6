import Tensors

/// ggml tensor types as numbered in GGUF tensor infos. All are named and sized, so a file can be
/// bounds-checked even when it holds types Osprey cannot compute with; `dtype` says which it can.
public struct GGMLType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    // (name, elements per block, bytes per block), indexed by type number.
    private static let table: [UInt32: (String, Int, Int)] = [
        0: ("F32", 1, 4), 1: ("F16", 1, 2), 2: ("Q4_0", 32, 18), 3: ("Q4_1", 32, 20),
        6: ("Q5_0", 32, 22), 7: ("Q5_1", 32, 24), 8: ("Q8_0", 32, 34), 9: ("Q8_1", 32, 36),
        10: ("Q2_K", 256, 84), 11: ("Q3_K", 256, 110), 12: ("Q4_K", 256, 144), 13: ("Q5_K", 256, 176),
        14: ("Q6_K", 256, 210), 15: ("Q8_K", 256, 292), 16: ("IQ2_XXS", 256, 66), 17: ("IQ2_XS", 256, 74),
        18: ("IQ3_XXS", 256, 98), 19: ("IQ1_S", 256, 50), 20: ("IQ4_NL", 32, 18), 21: ("IQ3_S", 256, 110),
        22: ("IQ2_S", 256, 82), 23: ("IQ4_XS", 256, 136), 24: ("I8", 1, 1), 25: ("I16", 1, 2),
        26: ("I32", 1, 4), 27: ("I64", 1, 8), 28: ("F64", 1, 8), 29: ("IQ1_M", 256, 56), 30: ("BF16", 1, 2),
        34: ("TQ1_0", 256, 54), 35: ("TQ2_0", 256, 66), 39: ("MXFP4", 32, 17),
    ]

    public var description: String { Self.table[rawValue]?.0 ?? "type \(rawValue)" }

    /// (elements, bytes) of one block; nil for a type number this reader does not know.
    public var block: (elements: Int, bytes: Int)? {
        Self.table[rawValue].map { ($0.1, $0.2) }
    }

    /// The Osprey dtype, for the types backends compute with.
    public var dtype: DType? {
        switch rawValue {
        case 0: .f32
        case 1: .f16
        case 30: .bf16
        case 8: .q8_0
        case 2: .q4_0
        case 3: .q4_1
        case 12: .q4_K
        case 14: .q6_K
        default: nil
        }
    }
}
