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

/// Read-only access to a parsed JSON document, with errors that name the field.
struct JSONNode {
    let value: JSONValue
    let path: String

    init(_ value: JSONValue, path: String = "$") {
        self.value = value
        self.path = path
    }

    static func parse(_ data: Data, what: String) throws -> JSONNode {
        do {
            return JSONNode(try data.withUnsafeBytes { try JSONParser.parse($0.bindMemory(to: UInt8.self)) }, path: what)
        } catch {
            throw TokenizerError.invalidJSON("\(what): \(error)")
        }
    }

    var isNull: Bool {
        if case .null = value { return true }
        return false
    }
    var members: [(String, JSONValue)]? {
        if case .object(let m) = value { return m }
        return nil
    }
    var array: [JSONValue]? {
        if case .array(let a) = value { return a }
        return nil
    }
    var string: String? {
        if case .string(let s) = value { return s }
        return nil
    }
    var bool: Bool? {
        if case .bool(let b) = value { return b }
        return nil
    }
    var int: Int? {
        switch value {
        case .integer(let n): return n
        case .double(let d) where d == d.rounded() && abs(d) < 1e15: return Int(d)
        default: return nil
        }
    }

    subscript(key: String) -> JSONNode? {
        guard let m = members, let v = m.first(where: { $0.0 == key })?.1 else { return nil }
        if case .null = v { return nil }
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
        let n = try required(key)
        guard n.array != nil else { throw TokenizerError.invalidJSON("\(path).\(key) must be an array") }
        return n.elements
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
