import Foundation
import Tensors

/// A GGUF file (versions 2 and 3), memory-mapped: metadata key/values, tensor infos, and the data
/// section (at `general.alignment`, default 32). Every tensor's bytes are checked to lie inside the file
/// when it is opened. Tensor names and shapes are GGUF's own (`blk.0.attn_q.weight`, shapes row-major
/// [rows, cols], i.e. GGUF's innermost-first dims reversed); `GGUFWeights` serves them under HF names.
///
/// A model split by llama.cpp's `gguf-split` (`name-00001-of-00003.gguf`, with `split.count` in the
/// first file's metadata) is opened whole from its first file: the other shards are found beside it
/// and their tensors join `tensorInfos`.
public final class GGUFFile: @unchecked Sendable {
    public struct TensorInfo: Sendable {
        public let name: String
        /// Row-major shape (GGUF dims reversed).
        public let shape: [Int]
        public let type: GGMLType
        /// Absolute byte range in its file; empty for a type of unknown size.
        public let range: Range<Int>
        /// Which file of a split model holds it (0 for an unsplit one).
        public let shard: Int
    }

    /// The (first) file.
    public let path: String
    public let version: Int
    public let metadata: [String: GGUFValue]
    /// Tensor infos in file order (shard after shard).
    public let tensorInfos: [TensorInfo]
    public let alignment: Int
    /// Absolute offset of the (first file's) data section.
    public let dataOffset: Int
    /// Paths of all files, the first one first.
    public let shardPaths: [String]
    private let infoByName: [String: Int]
    private let files: [MappedFile]

    public convenience init(url: URL) throws {
        try self.init(path: url.path)
    }

    public init(path: String) throws {
        self.path = path
        let first = try MappedFile(path: path)
        let head = try Self.parse(first, shard: 0)
        version = head.version
        metadata = head.metadata
        alignment = head.alignment
        dataOffset = head.dataOffset
        var files = [first]
        var infos = head.infos
        if let count = head.metadata["split.count"]?.int, count > 1 {
            for (index, shardPath) in try Self.splitPaths(first: path, count: count).enumerated().dropFirst() {
                guard FileManager.default.fileExists(atPath: shardPath) else {
                    throw ModelError.missingShard(index: path, shard: (shardPath as NSString).lastPathComponent)
                }
                let file = try MappedFile(path: shardPath)
                infos += try Self.parse(file, shard: index).infos
                files.append(file)
            }
        }
        self.files = files
        shardPaths = files.map(\.path)
        var byName: [String: Int] = [:]
        for (index, info) in infos.enumerated() {
            if byName[info.name] != nil {
                throw ModelError.corruptFile(path: files[info.shard].path, reason: "tensor '\(info.name)' appears twice")
            }
            byName[info.name] = index
        }
        tensorInfos = infos
        infoByName = byName
    }

    /// `prefix-00001-of-00003.gguf` → the paths of all `count` shards.
    static func splitPaths(first path: String, count: Int) throws -> [String] {
        let suffix = String(format: "-00001-of-%05d.gguf", count)
        guard path.hasSuffix(suffix) else {
            throw ModelError.corruptFile(path: path, reason: "split.count is \(count) but the name does not end in '\(suffix)'; open the first shard")
        }
        let prefix = path.dropLast(suffix.count)
        return (1 ... count).map { prefix + String(format: "-%05d-of-%05d.gguf", $0, count) }
    }

    private struct Parsed {
        var version: Int
        var metadata: [String: GGUFValue]
        var alignment: Int
        var dataOffset: Int
        var infos: [TensorInfo]
    }

    private static func parse(_ file: MappedFile, shard: Int) throws -> Parsed {
        var reader = GGUFReader(bytes: file.bytes, path: file.path)
        let magic = try reader.read(UInt32.self, "magic")
        guard magic == 0x4655_4747 else {  // "GGUF" little-endian
            throw reader.corrupt("not a GGUF file (magic 0x\(String(magic, radix: 16)), expected \"GGUF\")")
        }
        let version = try reader.read(UInt32.self, "version")
        guard version == 2 || version == 3 else {
            throw reader.corrupt("GGUF version \(version) is not supported (2 or 3)")
        }
        let tensorCount = try reader.readCount("tensor count")
        let kvCount = try reader.readCount("metadata count")

        var metadata: [String: GGUFValue] = [:]
        for index in 0 ..< kvCount {
            let key = try reader.readString("metadata key #\(index)")
            let type = try reader.read(UInt32.self, "type of metadata '\(key)'")
            metadata[key] = try reader.readValue(type: type, "metadata '\(key)'")
        }

        var alignment = 32
        if let value = metadata["general.alignment"] {
            guard let a = value.int, a > 0, a & (a - 1) == 0 else {
                throw reader.corrupt("general.alignment \(value) is not a power of two")
            }
            alignment = a
        }

        struct RawInfo { let name: String; let shape: [Int]; let type: GGMLType; let offset: Int }
        var raws: [RawInfo] = []
        raws.reserveCapacity(min(tensorCount, 1 << 20))
        for index in 0 ..< tensorCount {
            let name = try reader.readString("name of tensor #\(index)")
            let dimCount = try reader.read(UInt32.self, "dimension count of tensor '\(name)'")
            guard dimCount <= 8 else { throw reader.corrupt("tensor '\(name)' has \(dimCount) dimensions") }
            var dims: [Int] = []
            for _ in 0 ..< dimCount {
                dims.append(try reader.readCount("dimension of tensor '\(name)'"))
            }
            let type = GGMLType(rawValue: try reader.read(UInt32.self, "type of tensor '\(name)'"))
            let offset = try reader.readCount("offset of tensor '\(name)'")
            raws.append(RawInfo(name: name, shape: dims.reversed(), type: type, offset: offset))
        }
        let dataOffset = (reader.offset + alignment - 1) / alignment * alignment

        var infos: [TensorInfo] = []
        infos.reserveCapacity(raws.count)
        for raw in raws {
            var range = (dataOffset + raw.offset) ..< (dataOffset + raw.offset)
            if let block = raw.type.block {
                let (elements, overflow) = raw.shape.reduce((1, false)) { acc, d in
                    let (m, o) = acc.0.multipliedReportingOverflow(by: d)
                    return (m, acc.1 || o)
                }
                guard !overflow, elements % block.elements == 0, (raw.shape.last ?? 1) % block.elements == 0 else {
                    throw reader.corrupt("tensor '\(raw.name)' shape \(raw.shape) is not whole \(raw.type) blocks per row")
                }
                let byteCount = elements / block.elements * block.bytes
                guard raw.offset % alignment == 0 else {
                    throw reader.corrupt("tensor '\(raw.name)' offset \(raw.offset) is not aligned to \(alignment)")
                }
                guard dataOffset + raw.offset <= file.count, byteCount <= file.count - dataOffset - raw.offset else {
                    throw reader.corrupt("tensor '\(raw.name)' (\(byteCount) bytes at \(dataOffset + raw.offset)) runs past the end of the file (\(file.count) bytes)")
                }
                range = (dataOffset + raw.offset) ..< (dataOffset + raw.offset + byteCount)
            }
            infos.append(TensorInfo(name: raw.name, shape: raw.shape, type: raw.type, range: range, shard: shard))
        }
        return Parsed(version: Int(version), metadata: metadata, alignment: alignment, dataOffset: dataOffset, infos: infos)
    }

    /// `general.architecture` ("llama", "qwen2", ...).
    public var architecture: String? { metadata["general.architecture"]?.string }

    public func info(_ name: String) -> TensorInfo? { infoByName[name].map { tensorInfos[$0] } }

    /// The tensor `name` (GGUF name), viewing the mapped file.
    public func tensor(_ name: String) throws -> HostTensor {
        guard let info = info(name) else { throw ModelError.missingTensor(name: name, source: path) }
        let file = files[info.shard]
        guard let dtype = info.type.dtype else {
            throw ModelError.unsupportedDType(file: file.path, tensor: name, dtype: info.type.description)
        }
        return HostTensor(shape: info.shape, dtype: dtype,
                          bytes: file.slice(offset: info.range.lowerBound, count: info.range.count), owner: file)
    }
}
