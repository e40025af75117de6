/// A bounds-checked little-endian cursor over GGUF bytes; reading past the end throws `corruptFile`
/// saying what was being read.
struct GGUFReader {
    let bytes: UnsafeRawBufferPointer
    let path: String
    var offset = 0

    init(bytes: UnsafeRawBufferPointer, path: String) {
        self.bytes = bytes
        self.path = path
    }

    func corrupt(_ reason: String) -> ModelError { .corruptFile(path: path, reason: reason) }

    mutating func need(_ count: Int, _ what: @autoclosure () -> String) throws {
        guard count >= 0, count <= bytes.count - offset else {
            throw corrupt("file ends at byte \(bytes.count) while reading \(what()) at byte \(offset)")
        }
    }

    mutating func read<T: FixedWidthInteger>(_ type: T.Type, _ what: @autoclosure () -> String) throws -> T {
        try need(MemoryLayout<T>.size, what())
        let value = T(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: T.self))
        offset += MemoryLayout<T>.size
        return value
    }

    /// A u64 count that must be addressable.
    mutating func readCount(_ what: @autoclosure () -> String) throws -> Int {
        let raw = try read(UInt64.self, what())
        guard raw <= UInt64(bytes.count) else { throw corrupt("\(what()) is \(raw), larger than the file") }
        return Int(raw)
    }

    mutating func readString(_ what: @autoclosure () -> String) throws -> String {
        let length = try readCount("length of \(what())")
        try need(length, what())
        let text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[offset ..< offset + length]), as: UTF8.self)
        offset += length
        return text
    }

    mutating func readValue(type: UInt32, _ what: @autoclosure () -> String, depth: Int = 0) throws -> GGUFValue {
        switch type {
        case 0: return .uint8(try read(UInt8.self, what()))
        case 1: return .int8(try read(Int8.self, what()))
        case 2: return .uint16(try read(UInt16.self, what()))
        case 3: return .int16(try read(Int16.self, what()))
        case 4: return .uint32(try read(UInt32.self, what()))
        case 5: return .int32(try read(Int32.self, what()))
        case 6: return .float32(Float(bitPattern: try read(UInt32.self, what())))
        case 7:
            let b = try read(UInt8.self, what())
            guard b <= 1 else { throw corrupt("\(what()) is a bool with value \(b)") }
            return .bool(b == 1)
        case 8: return .string(try readString(what()))
        case 9:
            guard depth < 16 else { throw corrupt("\(what()) nests arrays too deeply") }
            let elementType = try read(UInt32.self, "element type of \(what())")
            let count = try readCount("length of \(what())")
            var items: [GGUFValue] = []
            items.reserveCapacity(min(count, bytes.count - offset))
            for _ in 0 ..< count {
                items.append(try readValue(type: elementType, what(), depth: depth + 1))
            }
            return .array(items)
        case 10: return .uint64(try read(UInt64.self, what()))
        case 11: return .int64(try read(Int64.self, what()))
        case 12: return .float64(Double(bitPattern: try read(UInt64.self, what())))
        default: throw corrupt("\(what()) has unknown value type \(type)")
        }
    }
}
