import Foundation

/// Python semantics for the operators templates use.
enum Operators {
    static func equal(_ a: Value, _ b: Value) -> Bool {
        switch (a, b) {
        case (.undefined, .undefined), (.none, .none): return true
        case (.string(let x), .string(let y)): return x.unicodeScalars.elementsEqual(y.unicodeScalars)
        case (.list(let x), .list(let y)): return x === y || listEqual(x.items, y.items)
        case (.tuple(let x), .tuple(let y)): return listEqual(x, y)
        case (.dict(let x), .dict(let y)), (.namespace(let x), .namespace(let y)):
            if x === y { return true }
            guard x.count == y.count else { return false }
            for (k, v) in x.pairs {
                guard let w = y[k], equal(v, w) else { return false }
            }
            return true
        case (.function(let x), .function(let y)): return x === y
        default:
            if a.isNumber && b.isNumber {
                if let i = a.intValue, let j = b.intValue { return i == j }
                return a.doubleValue == b.doubleValue
            }
            return false
        }
    }

    private static func listEqual(_ x: [Value], _ y: [Value]) -> Bool {
        x.count == y.count && zip(x, y).allSatisfy { equal($0, $1) }
    }

    /// -1, 0 or 1, or a TypeError as Python raises for unorderable operands.
    static func order(_ a: Value, _ b: Value, _ op: String = "<") throws -> Int {
        switch (a, b) {
        case (.string(let x), .string(let y)):
            if x.unicodeScalars.elementsEqual(y.unicodeScalars) { return 0 }
            return x.unicodeScalars.lexicographicallyPrecedes(y.unicodeScalars) ? -1 : 1
        case (.list(let x), .list(let y)): return try orderLists(x.items, y.items, op)
        case (.tuple(let x), .tuple(let y)): return try orderLists(x, y, op)
        default:
            if a.isNumber && b.isNumber {
                if let i = a.intValue, let j = b.intValue { return i < j ? -1 : i == j ? 0 : 1 }
                let x = a.doubleValue ?? 0, y = b.doubleValue ?? 0
                return x < y ? -1 : x == y ? 0 : 1
            }
            if case .undefined(let u) = a { throw TemplateError(message: u.message) }
            if case .undefined(let u) = b { throw TemplateError(message: u.message) }
            throw TemplateError(message: "'\(op)' not supported between instances of '\(a.typeName)' and '\(b.typeName)'")
        }
    }

    private static func orderLists(_ x: [Value], _ y: [Value], _ op: String) throws -> Int {
        for (p, q) in zip(x, y) where !equal(p, q) { return try order(p, q, op) }
        return x.count < y.count ? -1 : x.count == y.count ? 0 : 1
    }

    static func compare(_ op: String, _ a: Value, _ b: Value) throws -> Bool {
        switch op {
        case "==": return equal(a, b)
        case "!=": return !equal(a, b)
        case "<": return try order(a, b, op) < 0
        case "<=": return try order(a, b, op) <= 0
        case ">": return try order(a, b, op) > 0
        case ">=": return try order(a, b, op) >= 0
        case "in": return try contains(b, a)
        case "notin": return !(try contains(b, a))
        default: throw TemplateError(message: "unknown comparison '\(op)'")
        }
    }

    static func contains(_ container: Value, _ item: Value) throws -> Bool {
        switch container {
        case .string(let s):
            guard case .string(let sub) = item else {
                throw TemplateError(message: "'in <string>' requires string as left operand, not \(item.typeName)")
            }
            return sub.isEmpty || s.contains(sub)
        case .list(let l): return l.items.contains { equal($0, item) }
        case .tuple(let t): return t.contains { equal($0, item) }
        case .dict(let d), .namespace(let d): return d[item] != nil
        case .undefined: return false
        default: throw TemplateError(message: "argument of type '\(container.typeName)' is not iterable")
        }
    }

    static func negate(_ v: Value) throws -> Value {
        switch v {
        case .int(let i):
            guard i != Int.min else { throw TemplateError(message: "integer overflow") }
            return .int(-i)
        case .bool(let b): return .int(b ? -1 : 0)
        case .float(let d): return .float(-d)
        case .undefined(let u): throw TemplateError(message: u.message)
        default: throw TemplateError(message: "bad operand type for unary -: '\(v.typeName)'")
        }
    }

    static func binary(_ op: String, _ a: Value, _ b: Value) throws -> Value {
        if case .undefined(let u) = a { throw TemplateError(message: u.message) }
        if case .undefined(let u) = b { throw TemplateError(message: u.message) }
        if let x = a.intValue, let y = b.intValue { return try integer(op, x, y) }
        if a.isNumber, b.isNumber, let x = a.doubleValue, let y = b.doubleValue { return try floating(op, x, y) }
        switch (op, a, b) {
        case ("+", .string(let x), .string(let y)): return .string(x + y)
        case ("+", .list(let x), .list(let y)): return .list(x.items + y.items)
        case ("+", .tuple(let x), .tuple(let y)): return .tuple(x + y)
        case ("*", .string(let s), _), ("*", _, .string(let s)):
            guard let n = (a.intValue ?? b.intValue) else { break }
            return .string(try repeated(n, s.count) { String(repeating: s, count: max(n, 0)) })
        case ("*", .list(let l), _), ("*", _, .list(let l)):
            guard let n = (a.intValue ?? b.intValue) else { break }
            return .list(try repeated(n, l.items.count) { Array([[Value]](repeating: l.items, count: max(n, 0)).joined()) })
        case ("*", .tuple(let t), _), ("*", _, .tuple(let t)):
            guard let n = (a.intValue ?? b.intValue) else { break }
            return .tuple(try repeated(n, t.count) { Array([[Value]](repeating: t, count: max(n, 0)).joined()) })
        case ("%", .string(let format), _):
            return .string(try PercentFormat.format(format, a: b))
        default: break
        }
        if op == "+", case .string = a {
            throw TemplateError(message: "can only concatenate str (not \"\(b.typeName)\") to str")
        }
        if op == "+", case .list = a {
            throw TemplateError(message: "can only concatenate list (not \"\(b.typeName)\") to list")
        }
        let symbol = op == "**" ? "** or pow()" : op
        throw TemplateError(message: "unsupported operand type(s) for \(symbol): '\(a.typeName)' and '\(b.typeName)'")
    }

    private static func repeated<T>(_ n: Int, _ unit: Int, _ make: () -> T) throws -> T {
        if n > 0, unit > 0, n.multipliedReportingOverflow(by: unit).overflow || n * unit > 50_000_000 {
            throw TemplateError(message: "result of repetition is too large")
        }
        return make()
    }

    private static func integer(_ op: String, _ x: Int, _ y: Int) throws -> Value {
        func checked(_ r: (partialValue: Int, overflow: Bool)) throws -> Value {
            // Python integers do not overflow; past 64 bits we fall back to a float rather than trap.
            if r.overflow { return try floating(op, Double(x), Double(y)) }
            return .int(r.partialValue)
        }
        switch op {
        case "+": return try checked(x.addingReportingOverflow(y))
        case "-": return try checked(x.subtractingReportingOverflow(y))
        case "*": return try checked(x.multipliedReportingOverflow(by: y))
        case "/":
            guard y != 0 else { throw TemplateError(message: "division by zero") }
            return .float(Double(x) / Double(y))
        case "//":
            guard y != 0 else { throw TemplateError(message: "integer division or modulo by zero") }
            if x == Int.min && y == -1 { return .float(-Double(x)) }
            let q = x / y
            return .int((x % y != 0) && ((x < 0) != (y < 0)) ? q - 1 : q)
        case "%":
            guard y != 0 else { throw TemplateError(message: "integer division or modulo by zero") }
            if y == -1 { return .int(0) }
            let r = x % y
            return .int(r != 0 && ((r < 0) != (y < 0)) ? r + y : r)
        case "**":
            if y < 0 { return .float(pow(Double(x), Double(y))) }
            var result = 1, base = x, e = y
            while e > 0 {
                if e & 1 == 1 {
                    let m = result.multipliedReportingOverflow(by: base)
                    if m.overflow { return .float(pow(Double(x), Double(y))) }
                    result = m.partialValue
                }
                e >>= 1
                if e > 0 {
                    let m = base.multipliedReportingOverflow(by: base)
                    if m.overflow { return .float(pow(Double(x), Double(y))) }
                    base = m.partialValue
                }
            }
            return .int(result)
        default: throw TemplateError(message: "unknown operator '\(op)'")
        }
    }

    private static func floating(_ op: String, _ x: Double, _ y: Double) throws -> Value {
        switch op {
        case "+": return .float(x + y)
        case "-": return .float(x - y)
        case "*": return .float(x * y)
        case "/":
            guard y != 0 else { throw TemplateError(message: "float division by zero") }
            return .float(x / y)
        case "//":
            guard y != 0 else { throw TemplateError(message: "float floor division by zero") }
            return .float((x / y).rounded(.down))
        case "%":
            guard y != 0 else { throw TemplateError(message: "float modulo") }
            let r = fmod(x, y)
            return .float(r != 0 && ((r < 0) != (y < 0)) ? r + y : r)
        case "**": return .float(pow(x, y))
        default: throw TemplateError(message: "unknown operator '\(op)'")
        }
    }
}
