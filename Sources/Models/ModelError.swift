/// Everything that can go wrong turning files on disk into a runnable model. Messages name the file
/// and the problem so a user can act on them.
import Foundation

public enum ModelError: Error, CustomStringConvertible, Equatable {
    case fileNotFound(path: String)
    case invalidConfig(path: String, reason: String)
    case unsupportedArchitecture(String, supported: [String])
    case unsupportedDType(file: String, tensor: String, dtype: String)
    case corruptFile(path: String, reason: String)
    case missingShard(index: String, shard: String)
    case missingTensor(name: String, source: String)
    case shapeMismatch(name: String, expected: [Int], found: [Int])

    public var description: String {
        switch self {
        case .fileNotFound(let path):
            "model not found: \(path)"
        case .invalidConfig(let path, let reason):
            "invalid model config \(path): \(reason)"
        case .unsupportedArchitecture(let name, let supported):
            "unsupported architecture '\(name)'; supported: \(supported.joined(separator: ", "))"
        case .unsupportedDType(let file, let tensor, let dtype):
            "\(file): tensor '\(tensor)' has unsupported dtype \(dtype)"
        case .corruptFile(let path, let reason):
            "\(path) is corrupt or truncated: \(reason)"
        case .missingShard(let index, let shard):
            "\(index) lists shard '\(shard)', which does not exist"
        case .missingTensor(let name, let source):
            "\(source) has no tensor '\(name)'"
        case .shapeMismatch(let name, let expected, let found):
            "tensor '\(name)' has shape \(found), expected \(expected)"
        }
    }
}

extension ModelError {
    /// The bytes of a model file, or `fileNotFound` naming it.
    static func read(_ url: URL) throws -> Data {
        do { return try Data(contentsOf: url) } catch { throw ModelError.fileNotFound(path: url.path) }
    }
}
