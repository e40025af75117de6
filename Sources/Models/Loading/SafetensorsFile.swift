import Foundation
import Tensors

/// One `.safetensors` file, memory-mapped: an 8-byte little-endian header length, a JSON header
/// `{name: {dtype, shape, data_offsets: [begin, end]}}` (offsets relative to the end of the header),
/// then the tensor bytes. Every entry is checked against the file size and against shape x dtype
/// when the file is opened, so a tensor handed out later is always in bounds.
public final class SafetensorsFile: @unchecked Sendable {
    public struct Entry: Sendable {
        public let name: String
        /// The dtype as spelled in the file ("BF16", "F32", "I8"...).
        public let dtypeName: String
        public let shape: [Int]
        /// Absolute byte range in the file.
        public let range: Range<Int>
    }

    public let path: String
    public let entries: [String: Entry]
    private let file: MappedFile

    public convenience init(url: URL) throws {
        try self.init(path: url.path)
    }

    public init(path: String) throws {
        self.path = path
        file = try MappedFile(path: path)
        entries = try Self.parseHeader(file)
    }

    public var tensorNames: [String] { entries.keys.sorted() }

    /// The tensor `name`, viewing the mapped file (no copy).
    public func tensor(_ name: String) throws -> HostTensor {
        guard let entry = entries[name] else { throw ModelError.missingTensor(name: name, source: path) }
        guard let dtype = Self.supportedDTypes[entry.dtypeName] else {
            throw ModelError.unsupportedDType(file: path, tensor: name, dtype: entry.dtypeName)
        }
        return HostTensor(shape: entry.shape, dtype: dtype,
                          bytes: file.slice(offset: entry.range.lowerBound, count: entry.range.count), owner: file)
    }

    static let supportedDTypes: [String: DType] = ["F32": .f32, "F16": .f16, "BF16": .bf16]

    /// Bytes per element of every dtype the format defines, so ranges are checked even for tensors
    /// we would refuse to load.
    static let elementBytes: [String: Int] = [
        "F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U64": 8, "U32": 4,
        "U16": 2, "U8": 1, "BOOL": 1, "F8_E4M3": 1, "F8_E5M2": 1, "F8_E8M0": 1,
    ]

    private static func parseHeader(_ file: MappedFile) throws -> [String: Entry] {
        let path = file.path
        func corrupt(_ reason: String) -> ModelError { .corruptFile(path: path, reason: reason) }
        guard file.count >= 8 else { throw corrupt("file is \(file.count) bytes, shorter than the 8-byte header length") }
        let headerLength = file.bytes.loadUnaligned(fromByteOffset: 0, as: UInt64.self).littleEndian
        guard headerLength <= UInt64(file.count - 8) else {
            throw corrupt("header length \(headerLength) runs past the end of the file (\(file.count) bytes)")
        }
        let dataStart = 8 + Int(headerLength)
        let dataSize = file.count - dataStart
        let headerBytes = Data(file.slice(offset: 8, count: Int(headerLength)))
        let header: JSONValue
        do {
            header = try JSONDecoder().decode(JSONValue.self, from: headerBytes)
        } catch {
            throw corrupt("header is not valid JSON (\(JSONValue.describe(error)))")
        }
        guard let object = header.objectValue else { throw corrupt("header is not a JSON object") }

        var entries: [String: Entry] = [:]
        entries.reserveCapacity(object.count)
        for (name, value) in object where name != "__metadata__" {
            guard let fields = value.objectValue,
                  let dtypeName = fields["dtype"]?.stringValue,
                  let shapeValues = fields["shape"]?.arrayValue,
                  let offsets = fields["data_offsets"]?.arrayValue, offsets.count == 2,
                  let begin = offsets[0].intValue, let end = offsets[1].intValue
            else { throw corrupt("header entry '\(name)' lacks dtype, shape or data_offsets") }
            let shape = shapeValues.compactMap(\.intValue)
            guard shape.count == shapeValues.count, shape.allSatisfy({ $0 >= 0 }) else {
                throw corrupt("tensor '\(name)' has an invalid shape")
            }
            guard 0 <= begin, begin <= end, end <= dataSize else {
                throw corrupt("tensor '\(name)' occupies bytes \(begin)..<\(end) of a \(dataSize)-byte data section")
            }
            if let size = elementBytes[dtypeName] {
                let (elements, overflow) = shape.reduce((1, false)) { acc, d in
                    let (m, o) = acc.0.multipliedReportingOverflow(by: d)
                    return (m, acc.1 || o)
                }
                guard !overflow, elements.multipliedReportingOverflow(by: size) == (end - begin, false) else {
                    throw corrupt("tensor '\(name)' \(dtypeName) \(shape) needs \(elements * size) bytes, has \(end - begin)")
                }
            }
            entries[name] = Entry(name: name, dtypeName: dtypeName, shape: shape,
                                  range: (dataStart + begin) ..< (dataStart + end))
        }
        return entries
    }
}
