import Foundation

extension Interpreter {
    func evaluate(_ e: Expr, in scope: Scope) throws -> Value {
        do {
            return try evaluateUnlocated(e, in: scope)
        } catch var err as TemplateError where err.line == 0 {
            err.line = e.location.line
            err.column = e.location.column
            throw err
        }
    }

    private func evaluateUnlocated(_ e: Expr, in scope: Scope) throws -> Value {
        switch e.kind {
        case .literal(let v):
            return v
        case .name(let n):
            if let v = scope.lookup(n) { return v }
            return .undefined(Undefined(hint: "'\(n)' is undefined"))
        case .list(let items):
            return .list(try items.map { try evaluate($0, in: scope) })
        case .tuple(let items):
            return .tuple(try items.map { try evaluate($0, in: scope) })
        case .dict(let pairs):
            let d = DictStorage()
            for (k, v) in pairs {
                let key = try evaluate(k, in: scope)
                guard HashKey(key) != nil else { throw TemplateError(message: "unhashable type: '\(key.typeName)'") }
                d[key] = try evaluate(v, in: scope)
            }
            return .dict(d)
        case .attribute(let base, let name):
            return try Access.attribute(try evaluate(base, in: scope), name, options: options)
        case .item(let base, let index):
            return try Access.item(try evaluate(base, in: scope), try evaluate(index, in: scope), options: options)
        case .slice(let base, let start, let stop, let step):
            let b = try evaluate(base, in: scope)
            return try Access.slice(b, start: try start.map { try evaluate($0, in: scope) },
                                    stop: try stop.map { try evaluate($0, in: scope) },
                                    step: try step.map { try evaluate($0, in: scope) })
        case .unary(let op, let operand):
            let v = try evaluate(operand, in: scope)
            switch op {
            case "not": return .bool(!v.truthy)
            case "neg": return try Operators.negate(v)
            default:
                if case .undefined(let u) = v { throw TemplateError(message: u.message) }
                guard v.isNumber else { throw TemplateError(message: "bad operand type for unary +: '\(v.typeName)'") }
                return v
            }
        case .binary(let op, let l, let r):
            let left = try evaluate(l, in: scope)
            switch op {
            case "and": return left.truthy ? try evaluate(r, in: scope) : left
            case "or": return left.truthy ? left : try evaluate(r, in: scope)
            default: return try Operators.binary(op, left, try evaluate(r, in: scope))
            }
        case .concat(let items):
            var s = ""
            for item in items { s += try evaluate(item, in: scope).pythonString }
            return .string(s)
        case .compare(let first, let rest):
            var left = try evaluate(first, in: scope)
            for (op, re) in rest {
                let right = try evaluate(re, in: scope)
                if !(try Operators.compare(op, left, right)) { return .bool(false) }
                left = right
            }
            return .bool(true)
        case .conditional(let test, let then, let otherwise):
            if try evaluate(test, in: scope).truthy { return try evaluate(then, in: scope) }
            if let otherwise { return try evaluate(otherwise, in: scope) }
            return .undefined(Undefined(hint: "the inline if-expression on line \(e.location.line) evaluated to false and no else section was defined."))
        case .filter(let base, let name, let args):
            return try applyFilter(name, to: try evaluate(base, in: scope), try evaluateArguments(args, in: scope))
        case .test(let base, let name, let args, let negated):
            let result = try applyTest(name, to: try evaluate(base, in: scope), try evaluateArguments(args, in: scope))
            return .bool(result != negated)
        case .call(let callee, let args):
            let f = try evaluate(callee, in: scope)
            return try callValue(f, try evaluateArguments(args, in: scope))
        }
    }

    func evaluateArguments(_ args: CallArguments, in scope: Scope) throws -> Arguments {
        var positional = try args.positional.map { try evaluate($0, in: scope) }
        var keyword = try args.keyword.map { ($0.0, try evaluate($0.1, in: scope)) }
        if let star = args.starArgs { positional += try iterate(try evaluate(star, in: scope)) }
        if let dstar = args.starKwargs {
            let v = try evaluate(dstar, in: scope)
            guard case .dict(let d) = v else { throw TemplateError(message: "argument after ** must be a mapping, not \(v.typeName)") }
            for (k, val) in d.pairs { keyword.append((k.pythonString, val)) }
        }
        return Arguments(positional, keyword)
    }
}
