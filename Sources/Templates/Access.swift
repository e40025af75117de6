/// Attribute and item access as jinja2's sandbox does it: `a.b` tries the attribute (a method) then the
/// item; `a['b']` tries the item then the attribute. A miss gives an undefined value; any access on an
/// undefined value is an error.
enum Access {
    static func attribute(_ base: Value, _ name: String, options: TemplateOptions) throws -> Value {
        switch base {
        case .undefined(let u): throw TemplateError(message: u.message)
        case .namespace(let d):
            if let v = d[name] { return v }
            return missingAttribute(base, name)
        default:
            if let m = try Methods.member(of: base, name, options: options) { return m }
            if case .dict(let d) = base, let v = d[name] { return v }
            return missingAttribute(base, name)
        }
    }

    static func item(_ base: Value, _ key: Value, options: TemplateOptions) throws -> Value {
        switch base {
        case .undefined(let u): throw TemplateError(message: u.message)
        case .dict(let d):
            if let v = d[key] { return v }
        case .list(let l):
            if let i = index(key, count: l.items.count) { return l.items[i] }
        case .tuple(let t):
            if let i = index(key, count: t.count) { return t[i] }
        case .string(let s):
            if key.intValue != nil {
                let scalars = Array(s.unicodeScalars)
                if let i = index(key, count: scalars.count) { return .string(String(scalars[i])) }
            }
        default: break
        }
        if case .string(let name) = key {
            if case .namespace(let d) = base, let v = d[name] { return v }
            if let m = try Methods.member(of: base, name, options: options) { return m }
            return missingAttribute(base, name)
        }
        return .undefined(Undefined(hint: "\(objectName(base)) has no element \(key.pythonRepr)"))
    }

    private static func index(_ key: Value, count: Int) -> Int? {
        guard case .int(let i) = key else {
            if case .bool(let b) = key { return count > (b ? 1 : 0) ? (b ? 1 : 0) : nil }
            return nil
        }
        let j = i < 0 ? i + count : i
        return j >= 0 && j < count ? j : nil
    }

    static func objectName(_ v: Value) -> String {
        if case .none = v { return "None" }
        return "'\(v.typeName) object'"
    }

    private static func missingAttribute(_ base: Value, _ name: String) -> Value {
        .undefined(Undefined(hint: "\(objectName(base)) has no attribute '\(name)'"))
    }

    static func slice(_ base: Value, start: Value?, stop: Value?, step: Value?) throws -> Value {
        func bound(_ v: Value?) throws -> Int? {
            guard let v, !v.isNone else { return nil }
            guard let i = v.intValue else {
                throw TemplateError(message: "slice indices must be integers or None")
            }
            return i
        }
        let (a, b, c) = (try bound(start), try bound(stop), try bound(step))
        switch base {
        case .list(let l): return .list(try pick(l.items, a, b, c))
        case .tuple(let t): return .tuple(try pick(t, a, b, c))
        case .string(let s):
            var out = String.UnicodeScalarView()
            out.append(contentsOf: try pick(Array(s.unicodeScalars), a, b, c))
            return .string(String(out))
        case .undefined(let u): throw TemplateError(message: u.message)
        default: throw TemplateError(message: "'\(base.typeName)' object is not subscriptable")
        }
    }

    /// Python's slice semantics, negative steps included.
    static func pick<T>(_ items: [T], _ start: Int?, _ stop: Int?, _ step: Int?) throws -> [T] {
        let n = items.count
        let st = step ?? 1
        guard st != 0 else { throw TemplateError(message: "slice step cannot be zero") }
        func adjust(_ v: Int?, _ dflt: Int) -> Int {
            guard var i = v else { return dflt }
            if i < 0 {
                i += n
                if i < 0 { i = st < 0 ? -1 : 0 }
            } else if i >= n {
                i = st < 0 ? n - 1 : n
            }
            return i
        }
        var i = adjust(start, st < 0 ? n - 1 : 0)
        let end = adjust(stop, st < 0 ? -1 : n)
        var out: [T] = []
        while st > 0 ? i < end : i > end {
            out.append(items[i])
            i += st
        }
        return out
    }
}
