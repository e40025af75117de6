import Foundation

extension Interpreter {
    /// Looks up `attribute` (dotted, with integer parts as indices) the way jinja2's `make_attrgetter` does.
    func attributeGetter(_ attribute: Value?, default dflt: Value? = nil) -> ((Value) throws -> Value)? {
        guard let attribute, !attribute.isNone else { return nil }
        let parts: [Value]
        if case .int = attribute { parts = [attribute] } else {
            parts = attribute.pythonString.split(separator: ".", omittingEmptySubsequences: false).map { p in
                Int(p).map { Value.int($0) } ?? .string(String(p))
            }
        }
        return { [options] item in
            var v = item
            for p in parts {
                if case .undefined = v { break }
                v = try Access.item(v, p, options: options)
            }
            if let dflt, case .undefined = v { return dflt }
            return v
        }
    }

    func applyFilter(_ name: String, to v: Value, _ a: Arguments) throws -> Value {
        func arg(_ i: Int, _ n: String) -> Value? { a.get(i, n) }
        func bool(_ i: Int, _ n: String, _ d: Bool = false) -> Bool { arg(i, n)?.truthy ?? d }
        func int(_ i: Int, _ n: String, _ d: Int) -> Int { arg(i, n)?.intValue ?? d }
        func string(_ i: Int, _ n: String) -> String? { arg(i, n).map(\.pythonString) }
        func strict(_ v: Value) throws {
            if case .undefined(let u) = v { throw TemplateError(message: u.message) }
        }

        switch name {
        case "abs":
            switch v {
            case .int(let i): return i == Int.min ? .float(-Double(i)) : .int(Swift.abs(i))
            case .bool(let b): return .int(b ? 1 : 0)
            case .float(let d): return .float(Swift.abs(d))
            default:
                try strict(v)
                throw TemplateError(message: "bad operand type for abs(): '\(v.typeName)'")
            }
        case "attr":
            // Only real attributes (methods, namespace members), never items, as in jinja2.
            try strict(v)
            let attr = string(0, "name") ?? ""
            if case .namespace(let d) = v, let x = d[attr] { return x }
            return try Methods.member(of: v, attr, options: options)
                ?? .undefined(Undefined(hint: "\(Access.objectName(v)) has no attribute '\(attr)'"))
        case "batch":
            let n = int(0, "linecount", 1)
            guard n > 0 else { throw TemplateError(message: "batch size must be positive") }
            var out: [Value] = []
            var current: [Value] = []
            for item in try Filters.iterate(v) {
                current.append(item)
                if current.count == n { out.append(.list(current)); current = [] }
            }
            if !current.isEmpty {
                if let fill = arg(1, "fill_with"), !fill.isNone {
                    current += Array(repeating: fill, count: n - current.count)
                }
                out.append(.list(current))
            }
            return .list(out)
        case "capitalize": return .string(PyString.capitalize(v.pythonString))
        case "center": return .string(PyString.center(v.pythonString, int(0, "width", 80)))
        case "count", "length": return .int(try Filters.length(v))
        case "d", "default":
            let dflt = arg(0, "default_value") ?? .string("")
            if v.isUndefined || (bool(1, "boolean") && !v.truthy) { return dflt }
            return v
        case "dictsort":
            guard case .dict(let d) = v else { throw TemplateError(message: "You can only sort by either 'key' or 'value'") }
            let byValue = string(1, "by") == "value"
            let pairs = d.pairs.map { Value.tuple([$0.key, $0.value]) }
            return .list(try Filters.sorted(pairs, reverse: bool(2, "reverse"), caseSensitive: bool(0, "case_sensitive")) { p in
                guard case .tuple(let t) = p else { return p }
                return byValue ? t[1] : t[0]
            })
        case "pprint": return .string(v.pythonRepr)
        case "e", "escape", "forceescape": return .string(Filters.htmlEscape(v.pythonString))
        case "first":
            if case .dict(let d) = v { return d.keys.first ?? .undefined(Undefined(hint: "No first item, sequence was empty.")) }
            return try Filters.iterate(v).first ?? .undefined(Undefined(hint: "No first item, sequence was empty."))
        case "last":
            try strict(v)
            return try Filters.iterate(v).last ?? .undefined(Undefined(hint: "No last item, sequence was empty."))
        case "float": return Filters.toFloat(v, default: arg(0, "default") ?? .float(0))
        case "int": return Filters.toInt(v, default: arg(0, "default") ?? .int(0), base: int(1, "base", 10))
        case "format":
            if !a.keyword.isEmpty {
                let d = DictStorage()
                for (k, x) in a.keyword { d[k] = x }
                return .string(try PercentFormat.format(v.pythonString, a: .dict(d)))
            }
            return .string(try PercentFormat.format(v.pythonString, a: .tuple(a.positional)))
        case "indent":
            return .string(Filters.indent(v.pythonString, width: arg(0, "width") ?? .int(4),
                                          first: bool(1, "first"), blank: bool(2, "blank")))
        case "items":
            switch v {
            case .undefined: return .list([])
            case .dict(let d): return .list(d.pairs.map { .tuple([$0.key, $0.value]) })
            default: throw TemplateError(message: "Can only get item pairs from a mapping.")
            }
        case "join":
            let getter = attributeGetter(arg(1, "attribute"))
            let items = try Filters.iterate(v).map { try getter?($0) ?? $0 }
            return .string(items.map(\.pythonString).joined(separator: string(0, "d") ?? ""))
        case "list": return .list(try Filters.iterate(v))
        case "lower": return .string(v.pythonString.lowercased())
        case "upper": return .string(v.pythonString.uppercased())
        case "map":
            let items = try Filters.iterate(v)
            if let getter = attributeGetter(a[keyword: "attribute"], default: a[keyword: "default"]) {
                return .list(try items.map(getter))
            }
            guard let filterName = a.positional.first?.stringValue else {
                throw TemplateError(message: "map requires a filter argument")
            }
            let rest = Arguments(Array(a.positional.dropFirst()), a.keyword)
            return .list(try items.map { try applyFilter(filterName, to: $0, rest) })
        case "max", "min":
            let items = try Filters.iterate(v)
            let getter = attributeGetter(arg(1, "attribute")) ?? { $0 }
            let cs = bool(0, "case_sensitive")
            var best: (Value, Value)? = nil
            for item in items {
                let k = Filters.folded(try getter(item), cs)
                if let b = best {
                    let o = try Operators.order(k, b.0)
                    if name == "max" ? o > 0 : o < 0 { best = (k, item) }
                } else {
                    best = (k, item)
                }
            }
            return best?.1 ?? .undefined(Undefined(hint: "No aggregated item, sequence was empty."))
        case "select", "reject", "selectattr", "rejectattr":
            let byAttribute = name.hasSuffix("attr")
            let keep = name.hasPrefix("select")
            var positional = a.positional[...]
            let getter: (Value) throws -> Value
            if byAttribute {
                guard let attrName = positional.popFirst(), let g = attributeGetter(attrName) else {
                    throw TemplateError(message: "Missing parameter for attribute name")
                }
                getter = g
            } else {
                getter = { $0 }
            }
            let testName = positional.popFirst()?.pythonString
            let testArgs = Arguments(Array(positional), a.keyword)
            return .list(try Filters.iterate(v).filter { item in
                let x = try getter(item)
                let ok = try testName.map { try applyTest($0, to: x, testArgs) } ?? x.truthy
                return ok == keep
            })
        case "replace":
            guard let old = string(0, "old"), let new = string(1, "new") else {
                throw TemplateError(message: "replace requires old and new")
            }
            return .string(PyString.replace(v.pythonString, old, new, count: arg(2, "count")?.intValue ?? -1))
        case "reverse":
            if case .string(let s) = v { return .string(PyString.string(s.unicodeScalars.reversed())) }
            return .list(try Filters.iterate(v).reversed())
        case "round":
            return try Filters.round(v, precision: int(0, "precision", 0), method: string(1, "method") ?? "common")
        case "safe", "string":
            return .string(v.pythonString)
        case "sort":
            let getter = attributeGetter(arg(2, "attribute")) ?? { $0 }
            return .list(try Filters.sorted(try Filters.iterate(v), reverse: bool(0, "reverse"),
                                            caseSensitive: bool(1, "case_sensitive"), key: getter))
        case "sum":
            let getter = attributeGetter(arg(0, "attribute")) ?? { $0 }
            var total = arg(1, "start") ?? .int(0)
            for item in try Filters.iterate(v) { total = try Operators.binary("+", total, try getter(item)) }
            return total
        case "title": return .string(Filters.title(v.pythonString))
        case "tojson":
            var dumper = JSONDumper()
            dumper.ensureASCII = bool(0, "ensure_ascii")
            if let indent = arg(1, "indent"), !indent.isNone {
                if case .string(let s) = indent { dumper.indent = s }
                else { dumper.indent = String(repeating: " ", count: max(0, indent.intValue ?? 0)) }
            }
            if let seps = arg(2, "separators"), !seps.isNone {
                let parts = try Filters.iterate(seps)
                guard parts.count == 2 else { throw TemplateError(message: "separators must be a pair of strings") }
                dumper.itemSeparator = parts[0].pythonString
                dumper.keySeparator = parts[1].pythonString
                dumper.explicitSeparators = true
            }
            dumper.sortKeys = bool(3, "sort_keys")
            return .string(try dumper.dump(v))
        case "trim":
            return .string(PyString.strip(v.pythonString, string(0, "chars"), leading: true, trailing: true))
        case "truncate":
            let s = v.pythonString
            let length = int(0, "length", 255)
            let end = string(2, "end") ?? "..."
            let leeway = int(3, "leeway", 5)
            let scalars = Array(s.unicodeScalars)
            if scalars.count <= length + leeway { return .string(s) }
            let cut = max(0, length - end.unicodeScalars.count)
            if bool(1, "killwords") { return .string(PyString.string(scalars[..<cut]) + end) }
            var head = PyString.string(scalars[..<cut])
            if let space = head.lastIndex(of: " ") { head = String(head[..<space]) }
            return .string(head + end)
        case "unique":
            let getter = attributeGetter(arg(1, "attribute")) ?? { $0 }
            let cs = bool(0, "case_sensitive")
            var seen: [Value] = []
            var out: [Value] = []
            for item in try Filters.iterate(v) {
                let k = Filters.folded(try getter(item), cs)
                if !seen.contains(where: { Operators.equal($0, k) }) { seen.append(k); out.append(item) }
            }
            return .list(out)
        case "wordcount": return .int(Filters.wordcount(v.pythonString))
        default:
            if Filters.names.contains(name) { throw TemplateError(message: "filter '\(name)' is not supported") }
            throw TemplateError(message: "No filter named '\(name)'.")
        }
    }
}
