/// Methods of str, list and dict that templates call (`content.strip()`, `message.get('x')`).
/// transformers renders in jinja2's ImmutableSandboxedEnvironment, where methods that mutate a list or
/// dict are unsafe: reading them gives an undefined value and calling one is an error. `TemplateOptions`
/// can allow them.
enum Methods {
    static let mutatingList: Set<String> = ["append", "clear", "extend", "insert", "pop", "remove", "reverse", "sort"]
    static let mutatingDict: Set<String> = ["clear", "pop", "popitem", "setdefault", "update"]

    static func member(of base: Value, _ name: String, options: TemplateOptions) throws -> Value? {
        switch base {
        case .string(let s): return stringMethod(s, name)
        case .list(let l):
            if mutatingList.contains(name) && options.immutableSandbox { return unsafe(base, name) }
            return listMethod(l, name)
        case .tuple(let t):
            switch name {
            case "index", "count": return listMethod(ListStorage(t), name)
            default: return nil
            }
        case .dict(let d):
            if mutatingDict.contains(name) && options.immutableSandbox { return unsafe(base, name) }
            return dictMethod(d, name)
        default: return nil
        }
    }

    private static func unsafe(_ base: Value, _ name: String) -> Value {
        .undefined(Undefined(hint: "access to attribute '\(name)' of '\(base.typeName)' object is unsafe."))
    }

    private static func method(_ name: String, _ body: @escaping (Arguments) throws -> Value) -> Value {
        .function(Function(name, body))
    }

    private static func str(_ args: Arguments, _ i: Int, _ name: String) throws -> String? {
        guard let v = args.get(i, name), !v.isNone else { return nil }
        guard case .string(let s) = v else { throw TemplateError(message: "\(name) must be str or None, not \(v.typeName)") }
        return s
    }

    private static func stringMethod(_ s: String, _ name: String) -> Value? {
        switch name {
        case "strip", "lstrip", "rstrip":
            return method(name) { a in
                .string(PyString.strip(s, try str(a, 0, "chars"), leading: name != "rstrip", trailing: name != "lstrip"))
            }
        case "split", "rsplit":
            return method(name) { a in
                let max = a.get(1, "maxsplit")?.intValue ?? -1
                let parts = name == "split" ? try PyString.split(s, try str(a, 0, "sep"), maxsplit: max)
                    : try PyString.rsplit(s, try str(a, 0, "sep"), maxsplit: max)
                return .list(parts.map { .string($0) })
            }
        case "startswith", "endswith":
            return method(name) { a in
                let arg = a.get(0, "prefix") ?? .undefinedValue
                let candidates: [Value]
                switch arg {
                case .tuple(let t): candidates = t
                case .list(let l): candidates = l.items
                default: candidates = [arg]
                }
                var subject = s
                if let start = a.get(1, "start")?.intValue {
                    subject = PyString.string(Access.pickScalars(s, start, a.get(2, "end")?.intValue))
                }
                for c in candidates {
                    guard case .string(let p) = c else {
                        throw TemplateError(message: "\(name) first arg must be str or a tuple of str, not \(c.typeName)")
                    }
                    let hit = name == "startswith" ? subject.unicodeScalars.starts(with: p.unicodeScalars)
                        : subject.unicodeScalars.reversed().starts(with: p.unicodeScalars.reversed())
                    if hit { return .bool(true) }
                }
                return .bool(false)
            }
        case "replace":
            return method(name) { a in
                guard let old = try str(a, 0, "old"), let new = try str(a, 1, "new") else {
                    throw TemplateError(message: "replace() takes at least 2 arguments")
                }
                return .string(PyString.replace(s, old, new, count: a.get(2, "count")?.intValue ?? -1))
            }
        case "upper": return method(name) { _ in .string(s.uppercased()) }
        case "lower": return method(name) { _ in .string(s.lowercased()) }
        case "title": return method(name) { _ in .string(PyString.title(s)) }
        case "capitalize": return method(name) { _ in .string(PyString.capitalize(s)) }
        case "format": return method(name) { a in .string(try BraceFormat.format(s, a)) }
        case "find", "rfind", "index", "rindex":
            return method(name) { a in
                let i = PyString.find(s, try str(a, 0, "sub") ?? "", reverse: name.hasPrefix("r"))
                if i < 0 && name.hasSuffix("index") { throw TemplateError(message: "substring not found") }
                return .int(i)
            }
        case "count": return method(name) { a in .int(PyString.count(s, try str(a, 0, "sub") ?? "")) }
        case "join":
            return method(name) { a in
                var parts: [String] = []
                for item in try Filters.iterate(a.get(0, "iterable") ?? .undefinedValue) {
                    guard case .string(let p) = item else {
                        throw TemplateError(message: "sequence item \(parts.count): expected str instance, \(item.typeName) found")
                    }
                    parts.append(p)
                }
                return .string(parts.joined(separator: s))
            }
        case "splitlines":
            return method(name) { a in
                .list(PyString.splitlines(s, keepends: a.get(0, "keepends")?.truthy ?? false).map { .string($0) })
            }
        case "isdigit", "isnumeric", "isdecimal":
            return method(name) { _ in .bool(!s.isEmpty && s.unicodeScalars.allSatisfy { $0.properties.numericType != nil }) }
        case "isalpha": return method(name) { _ in .bool(!s.isEmpty && s.unicodeScalars.allSatisfy { $0.properties.isAlphabetic }) }
        case "isalnum":
            return method(name) { _ in
                .bool(!s.isEmpty && s.unicodeScalars.allSatisfy { $0.properties.isAlphabetic || $0.properties.numericType != nil })
            }
        case "isspace": return method(name) { _ in .bool(!s.isEmpty && s.unicodeScalars.allSatisfy(PyString.isSpace)) }
        case "islower", "isupper":
            return method(name) { _ in
                let cased = s.unicodeScalars.filter { $0.properties.isCased }
                let ok = cased.allSatisfy { name == "islower" ? $0.properties.isLowercase : $0.properties.isUppercase }
                return .bool(!cased.isEmpty && ok)
            }
        case "center", "ljust", "rjust":
            return method(name) { a in
                let width = a.get(0, "width")?.intValue ?? 0
                let fill = try str(a, 1, "fillchar") ?? " "
                let pad = max(0, width - s.unicodeScalars.count)
                switch name {
                case "center": return .string(PyString.center(s, width, fill: fill))
                case "ljust": return .string(s + String(repeating: fill, count: pad))
                default: return .string(String(repeating: fill, count: pad) + s)
                }
            }
        case "zfill":
            return method(name) { a in
                let width = a.get(0, "width")?.intValue ?? 0
                return .string(String(repeating: "0", count: max(0, width - s.unicodeScalars.count)) + s)
            }
        default: return nil
        }
    }

    private static func listMethod(_ l: ListStorage, _ name: String) -> Value? {
        switch name {
        case "append": return method(name) { a in l.items.append(a.get(0, "object") ?? Value.none); return .none }
        case "extend": return method(name) { a in l.items += try Filters.iterate(a.get(0, "iterable") ?? Value.none); return .none }
        case "insert":
            return method(name) { a in
                var i = a.get(0, "index")?.intValue ?? 0
                if i < 0 { i = max(0, i + l.items.count) }
                l.items.insert(a.get(1, "object") ?? Value.none, at: min(i, l.items.count))
                return .none
            }
        case "pop":
            return method(name) { a in
                guard !l.items.isEmpty else { throw TemplateError(message: "pop from empty list") }
                var i = a.get(0, "index")?.intValue ?? -1
                if i < 0 { i += l.items.count }
                guard i >= 0 && i < l.items.count else { throw TemplateError(message: "pop index out of range") }
                return l.items.remove(at: i)
            }
        case "remove":
            return method(name) { a in
                let x = a.get(0, "value") ?? Value.none
                guard let i = l.items.firstIndex(where: { Operators.equal($0, x) }) else {
                    throw TemplateError(message: "list.remove(x): x not in list")
                }
                l.items.remove(at: i)
                return .none
            }
        case "reverse": return method(name) { _ in l.items.reverse(); return .none }
        case "clear": return method(name) { _ in l.items.removeAll(); return .none }
        case "sort":
            return method(name) { a in
                l.items = try Filters.sorted(l.items, reverse: a[keyword: "reverse"]?.truthy ?? false, caseSensitive: true)
                return .none
            }
        case "copy": return method(name) { _ in .list(l.items) }
        case "index":
            return method(name) { a in
                let x = a.get(0, "value") ?? Value.none
                guard let i = l.items.firstIndex(where: { Operators.equal($0, x) }) else {
                    throw TemplateError(message: "\(x.pythonRepr) is not in list")
                }
                return .int(i)
            }
        case "count":
            return method(name) { a in
                let x = a.get(0, "value") ?? Value.none
                return .int(l.items.filter { Operators.equal($0, x) }.count)
            }
        default: return nil
        }
    }

    private static func dictMethod(_ d: DictStorage, _ name: String) -> Value? {
        switch name {
        case "items": return method(name) { _ in .list(d.pairs.map { .tuple([$0.key, $0.value]) }) }
        case "keys": return method(name) { _ in .list(d.keys) }
        case "values": return method(name) { _ in .list(d.valuesInOrder) }
        case "get": return method(name) { a in d[a.get(0, "key") ?? Value.none] ?? a.get(1, "default") ?? Value.none }
        case "copy": return method(name) { _ in .dict(d.copy()) }
        case "update":
            return method(name) { a in
                if let other = a.positional.first {
                    guard case .dict(let o) = other else { throw TemplateError(message: "update() argument must be a dict") }
                    for (k, v) in o.pairs { d[k] = v }
                }
                for (k, v) in a.keyword { d[k] = v }
                return .none
            }
        case "pop":
            return method(name) { a in
                let k = a.get(0, "key") ?? Value.none
                if let v = d[k] { d[k] = nil; return v }
                if let dflt = a.get(1, "default") { return dflt }
                throw TemplateError(message: "KeyError: \(k.pythonRepr)")
            }
        case "setdefault":
            return method(name) { a in
                let k = a.get(0, "key") ?? Value.none
                if let v = d[k] { return v }
                let v = a.get(1, "default") ?? Value.none
                d[k] = v
                return v
            }
        case "clear":
            return method(name) { _ in for k in d.keys { d[k] = nil }; return .none }
        default: return nil
        }
    }
}

extension Access {
    static func pickScalars(_ s: String, _ start: Int?, _ end: Int?) -> [Unicode.Scalar] {
        (try? pick(Array(s.unicodeScalars), start, end, 1)) ?? []
    }
}
