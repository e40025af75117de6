/// Element-type conversions of host tensors, shared by the loaders (f32 norm weights and biases)
/// and the backends (bf16 matrices for the GPU).
extension HostTensor {
    /// f32 copy of a plain-typed tensor (f32 is returned as is).
    public func convertedToF32() -> HostTensor {
        switch dtype {
        case .f32: return self
        case .f16:
            let values = bytes.bindMemory(to: UInt16.self)
            return .f32(values.map { Float(Float16(bitPattern: $0)) }, shape: shape)
        case .bf16:
            let values = bytes.bindMemory(to: UInt16.self)
            return .f32(values.map { Float(bitPattern: UInt32($0) << 16) }, shape: shape)
        default:
            preconditionFailure("convertedToF32: \(dtype) vectors are not expected")
        }
    }

    /// bf16 copy of an f32 or f16 tensor (round to nearest even).
    public func convertedToBF16() -> HostTensor {
        precondition(dtype == .f32 || dtype == .f16, "convertedToBF16: \(dtype)")
        let count = self.count
        let out = OwnedBytes(count: count * 2)
        let dst = out.pointer.assumingMemoryBound(to: UInt16.self)
        if dtype == .f32 {
            let src = bytes.bindMemory(to: Float.self)
            for i in 0..<count { dst[i] = Self.bf16Bits(src[i]) }
        } else {
            let src = bytes.bindMemory(to: UInt16.self)
            for i in 0..<count { dst[i] = Self.bf16Bits(Float(Float16(bitPattern: src[i]))) }
        }
        return HostTensor(shape: shape, dtype: .bf16, bytes: out.buffer, owner: out)
    }

    /// f32 → bf16 bits, rounding to nearest even (NaN stays a quiet NaN).
    @inline(__always)
    public static func bf16Bits(_ value: Float) -> UInt16 {
        if value.isNaN { return 0x7FC0 }
        let bits = value.bitPattern
        return UInt16(truncatingIfNeeded: (bits &+ 0x7FFF &+ ((bits >> 16) & 1)) >> 16)
    }
}
