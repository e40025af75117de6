import Foundation

/// A dynamic value as a Jinja template sees it: Python's JSON-like types plus callables and namespaces.
/// Lists, dicts and namespaces are references, as in Python, so a template that mutates one sees the change
/// everywhere it is shared.
public enum Value: @unchecked Sendable {
    case undefined(Undefined)
    case none
    case bool(Bool)
    case int(Int)
    case float(Double)
    case string(String)
    case list(ListStorage)
    case tuple([Value])
    case dict(DictStorage)
    case namespace(DictStorage)
    case function(Function)

    public static let undefinedValue = Value.undefined(Undefined(hint: nil))

    public static func list(_ items: [Value]) -> Value { .list(ListStorage(items)) }
    public static func dict(_ pairs: [(String, Value)]) -> Value {
        let d = DictStorage()
        for (k, v) in pairs { d[.string(k)] = v }
        return .dict(d)
    }
}

/// Why a value is undefined; the message is what jinja2's `UndefinedError` would say when it is misused.
public struct Undefined: Sendable {
    public var hint: String?
    public init(hint: String?) { self.hint = hint }
    var message: String { hint ?? "value is undefined" }
}

public final class ListStorage: @unchecked Sendable {
    public var items: [Value]
    public init(_ items: [Value] = []) { self.items = items }
}

/// A dictionary that keeps insertion order, as Python's does.
public final class DictStorage: @unchecked Sendable {
    public private(set) var keys: [Value] = []
    private var values: [Value] = []
    private var index: [HashKey: Int] = [:]

    public init() {}

    public var count: Int { keys.count }
    public var pairs: [(key: Value, value: Value)] { Array(zip(keys, values)).map { (key: $0.0, value: $0.1) } }
    public var valuesInOrder: [Value] { values }

    public subscript(key: Value) -> Value? {
        get {
            guard let h = HashKey(key), let i = index[h] else { return nil }
            return values[i]
        }
        set {
            guard let h = HashKey(key) else { return }
            if let i = index[h] {
                if let v = newValue { values[i] = v } else { remove(at: i) }
            } else if let v = newValue {
                index[h] = keys.count
                keys.append(key)
                values.append(v)
            }
        }
    }

    public subscript(key: String) -> Value? {
        get { self[.string(key)] }
        set { self[.string(key)] = newValue }
    }

    private func remove(at i: Int) {
        keys.remove(at: i)
        values.remove(at: i)
        index = [:]
        for (j, k) in keys.enumerated() { if let h = HashKey(k) { index[h] = j } }
    }

    public func copy() -> DictStorage {
        let d = DictStorage()
        for (k, v) in zip(keys, values) { d[k] = v }
        return d
    }
}

/// Python hashing rules for the key types templates use: `1`, `1.0` and `True` are the same key.
struct HashKey: Hashable {
    enum Kind: Hashable { case none, int(Int), float(Double), string(String), tuple([HashKey]) }
    let kind: Kind
    init?(_ v: Value) {
        switch v {
        case .none: kind = .none
        case .bool(let b): kind = .int(b ? 1 : 0)
        case .int(let i): kind = .int(i)
        case .float(let d):
            if d == d.rounded(), abs(d) < 9e18 { kind = .int(Int(d)) } else { kind = .float(d) }
        case .string(let s): kind = .string(s)
        case .tuple(let items):
            var ks: [HashKey] = []
            for item in items { guard let k = HashKey(item) else { return nil }; ks.append(k) }
            kind = .tuple(ks)
        default: return nil
        }
    }
}

/// Something a template can call: a global, a filter-like method bound to a value, or a macro.
public final class Function: @unchecked Sendable {
    public let name: String
    let body: (Arguments) throws -> Value
    init(_ name: String, _ body: @escaping (Arguments) throws -> Value) {
        self.name = name
        self.body = body
    }
}

/// Positional and keyword arguments of a call.
public struct Arguments {
    public var positional: [Value]
    public var keyword: [(String, Value)]

    public init(_ positional: [Value] = [], _ keyword: [(String, Value)] = []) {
        self.positional = positional
        self.keyword = keyword
    }

    public subscript(keyword name: String) -> Value? { keyword.first { $0.0 == name }?.1 }

    /// The argument bound to parameter `name` at `position`, positionally or by keyword.
    public func get(_ position: Int, _ name: String) -> Value? {
        if position < positional.count { return positional[position] }
        return self[keyword: name]
    }
}

extension Value {
    public var isUndefined: Bool { if case .undefined = self { return true } else { return false } }
    public var isNone: Bool { if case .none = self { return true } else { return false } }

    /// Python truthiness.
    public var truthy: Bool {
        switch self {
        case .undefined, .none: return false
        case .bool(let b): return b
        case .int(let i): return i != 0
        case .float(let d): return d != 0
        case .string(let s): return !s.isEmpty
        case .list(let l): return !l.items.isEmpty
        case .tuple(let t): return !t.isEmpty
        case .dict(let d): return d.count > 0
        case .namespace, .function: return true
        }
    }

    /// Python's type name, used in error messages the way jinja2 phrases them ("'dict object' has no attribute").
    var typeName: String {
        switch self {
        case .undefined: return "Undefined"
        case .none: return "NoneType"
        case .bool: return "bool"
        case .int: return "int"
        case .float: return "float"
        case .string: return "str"
        case .list: return "list"
        case .tuple: return "tuple"
        case .dict: return "dict"
        case .namespace: return "Namespace"
        case .function: return "function"
        }
    }

    public var stringValue: String? { if case .string(let s) = self { return s } else { return nil } }
    public var intValue: Int? {
        switch self {
        case .int(let i): return i
        case .bool(let b): return b ? 1 : 0
        default: return nil
        }
    }
    var doubleValue: Double? {
        switch self {
        case .int(let i): return Double(i)
        case .float(let d): return d
        case .bool(let b): return b ? 1 : 0
        default: return nil
        }
    }
    var isNumber: Bool {
        switch self {
        case .int, .float, .bool: return true
        default: return false
        }
    }
}

extension Value {
    /// `value["key"]`: the dict entry, or undefined when missing or not a dict (no sandbox rules applied).
    public subscript(key: String) -> Value {
        switch self {
        case .dict(let d), .namespace(let d): return d[key] ?? .undefinedValue
        default: return .undefinedValue
        }
    }

    /// `value[i]`: the list or tuple element (negative counts from the end), or undefined.
    public subscript(index: Int) -> Value {
        let items: [Value]
        switch self {
        case .list(let l): items = l.items
        case .tuple(let t): items = t
        default: return .undefinedValue
        }
        let j = index < 0 ? index + items.count : index
        return j >= 0 && j < items.count ? items[j] : .undefinedValue
    }
}
