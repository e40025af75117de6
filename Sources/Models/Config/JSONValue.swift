import Foundation

/// A parsed JSON document, kept as a tree so config parsing can accept several spellings of a field
/// and report exactly which one is wrong.
public enum JSONValue: Sendable, Equatable, Decodable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() { self = .null }
        else if let value = try? container.decode(Bool.self) { self = .bool(value) }
        else if let value = try? container.decode(Double.self) { self = .number(value) }
        else if let value = try? container.decode(String.self) { self = .string(value) }
        else if let value = try? container.decode([JSONValue].self) { self = .array(value) }
        else { self = .object(try container.decode([String: JSONValue].self)) }
    }

    /// Parses `data`; a syntax error becomes `ModelError.invalidConfig` naming `path`.
    static func parse(_ data: Data, path: String) throws -> JSONValue {
        do {
            return try JSONDecoder().decode(JSONValue.self, from: data)
        } catch {
            throw ModelError.invalidConfig(path: path, reason: "not valid JSON (\(Self.describe(error)))")
        }
    }

    static func describe(_ error: any Error) -> String {
        if case DecodingError.dataCorrupted(let context) = error {
            if let underlying = context.underlyingError { return "\(underlying.localizedDescription)" }
            return context.debugDescription
        }
        return "\(error)"
    }

    public var objectValue: [String: JSONValue]? { if case .object(let v) = self { v } else { nil } }
    public var arrayValue: [JSONValue]? { if case .array(let v) = self { v } else { nil } }
    public var stringValue: String? { if case .string(let v) = self { v } else { nil } }
    public var doubleValue: Double? { if case .number(let v) = self { v } else { nil } }
    public var boolValue: Bool? { if case .bool(let v) = self { v } else { nil } }
    /// A number with no fractional part that fits an Int.
    public var intValue: Int? {
        guard case .number(let v) = self, v.rounded() == v, abs(v) < 9.0e15 else { return nil }
        return Int(v)
    }
    public var isNull: Bool { self == .null }
}

/// Typed, error-reporting access to the fields of one JSON object read from `path`.
struct JSONFields {
    let fields: [String: JSONValue]
    let path: String

    init(_ value: JSONValue, path: String) throws {
        guard let object = value.objectValue else {
            throw ModelError.invalidConfig(path: path, reason: "top level is not a JSON object")
        }
        self.fields = object
        self.path = path
    }

    init(object: [String: JSONValue], path: String) {
        self.fields = object
        self.path = path
    }

    /// The value of `key`, treating JSON null as absent.
    func value(_ key: String) -> JSONValue? {
        guard let v = fields[key], !v.isNull else { return nil }
        return v
    }

    func has(_ key: String) -> Bool { value(key) != nil }

    private func wrongType(_ key: String, _ expected: String) -> ModelError {
        .invalidConfig(path: path, reason: "field '\(key)' must be \(expected), found \(fields[key].map(Self.render) ?? "nothing")")
    }

    static func render(_ value: JSONValue) -> String {
        switch value {
        case .null: "null"
        case .bool(let b): "\(b)"
        case .number(let n): "\(n)"
        case .string(let s): "\"\(s)\""
        case .array: "an array"
        case .object: "an object"
        }
    }

    func int(_ key: String) throws -> Int? {
        guard let v = value(key) else { return nil }
        guard let i = v.intValue else { throw wrongType(key, "an integer") }
        return i
    }

    func double(_ key: String) throws -> Double? {
        guard let v = value(key) else { return nil }
        guard let d = v.doubleValue else { throw wrongType(key, "a number") }
        return d
    }

    func bool(_ key: String) throws -> Bool? {
        guard let v = value(key) else { return nil }
        guard let b = v.boolValue else { throw wrongType(key, "true or false") }
        return b
    }

    func string(_ key: String) throws -> String? {
        guard let v = value(key) else { return nil }
        guard let s = v.stringValue else { throw wrongType(key, "a string") }
        return s
    }

    func object(_ key: String) throws -> JSONFields? {
        guard let v = value(key) else { return nil }
        guard let o = v.objectValue else { throw wrongType(key, "an object") }
        return JSONFields(object: o, path: path)
    }

    func strings(_ key: String) throws -> [String]? {
        guard let v = value(key) else { return nil }
        guard let items = v.arrayValue else { throw wrongType(key, "an array of strings") }
        return try items.map { item in
            guard let s = item.stringValue else { throw wrongType(key, "an array of strings") }
            return s
        }
    }

    /// An integer or an array of integers (`eos_token_id`, `mlp_only_layers`).
    func ints(_ key: String) throws -> [Int]? {
        guard let v = value(key) else { return nil }
        if let i = v.intValue { return [i] }
        guard let items = v.arrayValue else { throw wrongType(key, "an integer or an array of integers") }
        return try items.map { item in
            guard let i = item.intValue else { throw wrongType(key, "an integer or an array of integers") }
            return i
        }
    }

    func requiredInt(_ key: String) throws -> Int {
        guard let i = try int(key) else { throw missing(key) }
        return i
    }

    func missing(_ key: String) -> ModelError {
        .invalidConfig(path: path, reason: "missing required field '\(key)'")
    }
}
