import Foundation
import Tensors

/// A `WeightSource` over one or several safetensors files (a sharded checkpoint is described by
/// `model.safetensors.index.json`, whose `weight_map` names the shard holding each tensor).
public final class SafetensorsWeights: WeightSource, @unchecked Sendable {
    public let files: [SafetensorsFile]
    private let fileOfTensor: [String: Int]
    public let tensorNames: [String]
    /// What errors call this source (the index or the single file).
    public let sourceName: String

    /// Opens `files` and serves the union of their tensors.
    public init(files paths: [String]) throws {
        files = try paths.map { try SafetensorsFile(path: $0) }
        var owner: [String: Int] = [:]
        for (index, file) in files.enumerated() {
            for name in file.entries.keys {
                if let other = owner[name] {
                    throw ModelError.corruptFile(path: file.path, reason: "tensor '\(name)' is also in \(files[other].path)")
                }
                owner[name] = index
            }
        }
        fileOfTensor = owner
        tensorNames = owner.keys.sorted()
        sourceName = paths.count == 1 ? paths[0] : (paths.first.map { URL(fileURLWithPath: $0).deletingLastPathComponent().path } ?? "safetensors")
    }

    /// Opens the shards a `model.safetensors.index.json` lists; every tensor of the weight map must be
    /// in the shard that the map names.
    public init(index url: URL) throws {
        let indexPath = url.path
        let data: Data
        do { data = try Data(contentsOf: url) } catch { throw ModelError.fileNotFound(path: indexPath) }
        let json = try JSONFields(JSONValue.parse(data, path: indexPath), path: indexPath)
        guard let map = try json.object("weight_map") else { throw json.missing("weight_map") }
        let directory = url.deletingLastPathComponent()
        var shardNames: [String] = []
        var shardIndex: [String: Int] = [:]
        var placement: [String: String] = [:]
        for (tensor, value) in map.fields {
            guard let shard = value.stringValue else {
                throw ModelError.invalidConfig(path: indexPath, reason: "weight_map entry '\(tensor)' is not a file name")
            }
            placement[tensor] = shard
            if shardIndex[shard] == nil {
                shardIndex[shard] = shardNames.count
                shardNames.append(shard)
            }
        }
        var opened: [SafetensorsFile] = []
        for shard in shardNames {
            let shardPath = directory.appendingPathComponent(shard).path
            guard FileManager.default.fileExists(atPath: shardPath) else {
                throw ModelError.missingShard(index: indexPath, shard: shard)
            }
            opened.append(try SafetensorsFile(path: shardPath))
        }
        var owner: [String: Int] = [:]
        for (tensor, shard) in placement {
            let index = shardIndex[shard]!
            guard opened[index].entries[tensor] != nil else {
                throw ModelError.corruptFile(path: opened[index].path,
                                             reason: "\(url.lastPathComponent) places tensor '\(tensor)' here, but the file lacks it")
            }
            owner[tensor] = index
        }
        files = opened
        fileOfTensor = owner
        tensorNames = owner.keys.sorted()
        sourceName = indexPath
    }

    public func tensor(_ name: String) throws -> HostTensor {
        guard let index = fileOfTensor[name] else { throw ModelError.missingTensor(name: name, source: sourceName) }
        return try files[index].tensor(name)
    }

    public func contains(_ name: String) -> Bool { fileOfTensor[name] != nil }
}
