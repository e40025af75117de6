import Foundation

/// Everything that can go wrong while loading a tokenizer. Encoding and decoding never fail.
public enum TokenizerError: Error, CustomStringConvertible, Sendable {
    case invalidJSON(String)
    case missingField(String)
    case unsupported(component: String, type: String)
    case invalidRegex(pattern: String, reason: String)
    case invalidVocabulary(String)
    case io(String)

    public var description: String {
        switch self {
        case .invalidJSON(let why): return "tokenizer.json is not valid: \(why)"
        case .missingField(let path): return "tokenizer.json lacks the field \(path)"
        case .unsupported(let component, let type): return "unsupported \(component) type \"\(type)\""
        case .invalidRegex(let pattern, let reason): return "cannot compile regex \(pattern): \(reason)"
        case .invalidVocabulary(let why): return "invalid vocabulary: \(why)"
        case .io(let why): return why
        }
    }
}

/// Read-only access to the `Any` tree JSONSerialization returns, with errors that name the field.
struct JSONNode {
    let value: Any
    let path: String

    init(_ value: Any, path: String = "$") {
        self.value = value
        self.path = path
    }

    static func parse(_ data: Data, what: String) throws -> JSONNode {
        do {
            return JSONNode(try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed]), path: what)
        } catch {
            throw TokenizerError.invalidJSON("\(what): \(error.localizedDescription)")
        }
    }

    var isNull: Bool { value is NSNull }
    var object: [String: Any]? { value as? [String: Any] }
    var array: [Any]? { value as? [Any] }
    var string: String? { value as? String }
    var bool: Bool? {
        if let b = value as? Bool { return b }
        if let n = value as? NSNumber { return n.boolValue }
        return nil
    }
    var int: Int? {
        if let n = value as? Int { return n }
        if let n = value as? NSNumber { return n.intValue }
        return nil
    }

    subscript(key: String) -> JSONNode? {
        guard let obj = object, let v = obj[key], !(v is NSNull) else { return nil }
        return JSONNode(v, path: "\(path).\(key)")
    }

    func required(_ key: String) throws -> JSONNode {
        guard let n = self[key] else { throw TokenizerError.missingField("\(path).\(key)") }
        return n
    }

    func requiredString(_ key: String) throws -> String {
        guard let s = try required(key).string else { throw TokenizerError.invalidJSON("\(path).\(key) must be a string") }
        return s
    }

    func requiredArray(_ key: String) throws -> [JSONNode] {
        guard let a = try required(key).array else { throw TokenizerError.invalidJSON("\(path).\(key) must be an array") }
        return a.enumerated().map { JSONNode($1, path: "\(path).\(key)[\($0)]") }
    }

    var elements: [JSONNode] {
        (array ?? []).enumerated().map { JSONNode($1, path: "\(path)[\($0)]") }
    }

    func string(_ key: String, default d: String) -> String { self[key]?.string ?? d }
    func bool(_ key: String, default d: Bool) -> Bool { self[key]?.bool ?? d }
    func int(_ key: String, default d: Int) -> Int { self[key]?.int ?? d }

    /// The component's `"type"` field.
    func type(of component: String) throws -> String {
        guard let t = self["type"]?.string else { throw TokenizerError.missingField("\(path).type (\(component))") }
        return t
    }
}
