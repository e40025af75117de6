/// jinja2's builtin tests, applied as `value is name(args)`.
extension Interpreter {
    static let testNames: Set<String> = [
        "boolean", "callable", "defined", "divisibleby", "eq", "equalto", "==", "escaped", "even", "false", "filter",
        "float", "ge", ">=", "gt", "greaterthan", ">", "in", "integer", "iterable", "le", "<=", "lower", "lt",
        "lessthan", "<", "mapping", "ne", "!=", "none", "number", "odd", "sameas", "sequence", "string", "test",
        "true", "undefined", "upper",
    ]

    func applyTest(_ name: String, to v: Value, _ a: Arguments) throws -> Bool {
        let other = a.get(0, "other") ?? a.get(0, "value") ?? .undefinedValue
        switch name {
        case "defined": return !v.isUndefined
        case "undefined": return v.isUndefined
        case "none": return v.isNone
        case "boolean": if case .bool = v { return true } else { return false }
        case "true": if case .bool(true) = v { return true } else { return false }
        case "false": if case .bool(false) = v { return true } else { return false }
        case "string": if case .string = v { return true } else { return false }
        case "number": return v.isNumber
        case "integer": if case .int = v { return true } else { return false }
        case "float": if case .float = v { return true } else { return false }
        case "mapping": if case .dict = v { return true } else { return false }
        case "iterable":
            switch v {
            case .list, .tuple, .dict, .string, .undefined: return true
            default: return false
            }
        case "sequence":
            switch v {
            case .list, .tuple, .dict, .string: return true
            default: return false
            }
        case "callable":
            switch v {
            case .function: return true
            default: return false
            }
        case "odd", "even":
            if case .undefined(let u) = v { throw TemplateError(message: u.message) }
            guard v.isNumber else { throw TemplateError(message: "not all arguments converted during string formatting") }
            // Python: value % 2 == 1 (so 2.5 is neither odd nor even... but even means value % 2 == 0).
            let r = try Operators.binary("%", v, .int(2))
            if name == "odd" { return Operators.equal(r, .int(1)) }
            return Operators.equal(r, .int(0))
        case "divisibleby":
            guard let i = v.intValue, let n = other.intValue else {
                if let x = v.doubleValue, let y = other.doubleValue, y != 0 { return x.truncatingRemainder(dividingBy: y) == 0 }
                throw TemplateError(message: "divisibleby requires numbers")
            }
            guard n != 0 else { throw TemplateError(message: "integer division or modulo by zero") }
            return i % n == 0
        case "in": return try Operators.contains(a.get(0, "seq") ?? .undefinedValue, v)
        case "eq", "equalto", "==": return Operators.equal(v, other)
        case "ne", "!=": return !Operators.equal(v, other)
        case "gt", "greaterthan", ">": return try Operators.order(v, other, ">") > 0
        case "ge", ">=": return try Operators.order(v, other, ">=") >= 0
        case "lt", "lessthan", "<": return try Operators.order(v, other, "<") < 0
        case "le", "<=": return try Operators.order(v, other, "<=") <= 0
        case "sameas":
            switch (v, other) {
            case (.none, .none): return true
            case (.bool(let x), .bool(let y)): return x == y
            case (.list(let x), .list(let y)): return x === y
            case (.dict(let x), .dict(let y)), (.namespace(let x), .namespace(let y)): return x === y
            case (.function(let x), .function(let y)): return x === y
            case (.int(let x), .int(let y)): return x == y
            case (.string(let x), .string(let y)): return x == y
            default: return false
            }
        case "lower":
            let s = v.pythonString.unicodeScalars.filter { $0.properties.isCased }
            return !s.isEmpty && s.allSatisfy { $0.properties.isLowercase }
        case "upper":
            let s = v.pythonString.unicodeScalars.filter { $0.properties.isCased }
            return !s.isEmpty && s.allSatisfy { $0.properties.isUppercase }
        case "escaped": return false
        case "filter": return Filters.names.contains(v.pythonString)
        case "test": return Interpreter.testNames.contains(v.pythonString)
        default: throw TemplateError(message: "No test named '\(name)'.")
        }
    }
}
