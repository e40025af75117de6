/// Expressions, by jinja2's precedence: or < and < not < comparisons < + - < ~ < * / // % < ** < unary
/// < postfix (attribute, item, call), filters and tests.
extension Parser {
    /// An expression or a bare tuple `a, b` (as in `{{ a, b }}` or `set x = 1, 2`).
    mutating func parseTuple(withCondexpr: Bool = true, endNames: Set<String> = [], explicit: Bool = false) throws -> Expr {
        let loc = current.location
        var items: [Expr] = []
        var isTuple = false
        while true {
            if !items.isEmpty { try expectOp(",") }
            if isTupleEnd(endNames) { break }
            items.append(withCondexpr ? try parseExpression() : try parseOr())
            if isOp(",") { isTuple = true } else { break }
        }
        if !isTuple {
            if let only = items.first { return only }
            if !explicit { throw error("expected an expression, got \(describe(current.kind))") }
        }
        return Expr(kind: .tuple(items), location: loc)
    }

    private func isTupleEnd(_ endNames: Set<String>) -> Bool {
        switch current.kind {
        case .variableEnd, .blockEnd, .eof: return true
        case .op(")"): return true
        case .name(let n): return endNames.contains(n)
        default: return false
        }
    }

    mutating func parseExpression() throws -> Expr {
        try enter()
        defer { depth -= 1 }
        var e = try parseOr()
        while isName("if") {
            let loc = current.location
            advance()
            let test = try parseOr()
            let otherwise = skipName("else") ? try parseExpression() : nil
            e = Expr(kind: .conditional(test: test, then: e, otherwise: otherwise), location: loc)
        }
        return e
    }

    mutating func parseOr() throws -> Expr {
        try leftAssociative({ $0.isName("or") ? "or" : nil }, { try $0.parseAnd() })
    }

    private mutating func parseAnd() throws -> Expr {
        try leftAssociative({ $0.isName("and") ? "and" : nil }, { try $0.parseNot() })
    }

    private mutating func parseNot() throws -> Expr {
        if isName("not") {
            let loc = current.location
            advance()
            try enter()
            defer { depth -= 1 }
            return Expr(kind: .unary("not", try parseNot()), location: loc)
        }
        return try parseCompare()
    }

    private mutating func parseCompare() throws -> Expr {
        let loc = current.location
        let left = try parseMath1()
        var ops: [(String, Expr)] = []
        while true {
            if case .op(let o) = current.kind, ["==", "!=", "<", ">", "<=", ">="].contains(o) {
                advance()
                ops.append((o, try parseMath1()))
            } else if isName("in") {
                advance()
                ops.append(("in", try parseMath1()))
            } else if isName("not"), next.kind == .name("in") {
                advance(); advance()
                ops.append(("notin", try parseMath1()))
            } else {
                break
            }
        }
        return ops.isEmpty ? left : Expr(kind: .compare(left, ops), location: loc)
    }

    private mutating func parseMath1() throws -> Expr {
        try leftAssociative({ p in
            if case .op(let o) = p.current.kind, o == "+" || o == "-" { return o }
            return nil
        }, { try $0.parseConcat() })
    }

    private mutating func parseConcat() throws -> Expr {
        let loc = current.location
        var items = [try parseMath2()]
        while skipOp("~") {
            guard items.count < 2000 else { throw error("expression too long") }
            items.append(try parseMath2())
        }
        return items.count == 1 ? items[0] : Expr(kind: .concat(items), location: loc)
    }

    private mutating func parseMath2() throws -> Expr {
        try leftAssociative({ p in
            if case .op(let o) = p.current.kind, ["*", "/", "//", "%"].contains(o) { return o }
            return nil
        }, { try $0.parsePow() })
    }

    private mutating func parsePow() throws -> Expr {
        try leftAssociative({ $0.isOp("**") ? "**" : nil }, { try $0.parseUnary() })
    }

    /// `operand (op operand)*`, grouped to the left; `op` names the operator at the current token,
    /// or nil. Each operator counts towards the nesting limit, so long chains fail cleanly.
    private mutating func leftAssociative(_ op: (Self) -> String?, _ operand: (inout Self) throws -> Expr) throws -> Expr {
        let savedDepth = depth
        defer { depth = savedDepth }
        var left = try operand(&self)
        while let o = op(self) {
            try enter()
            let loc = current.location
            advance()
            left = Expr(kind: .binary(o, left, try operand(&self)), location: loc)
        }
        return left
    }

    private mutating func parseUnary(withFilter: Bool = true) throws -> Expr {
        try enter()
        defer { depth -= 1 }
        let loc = current.location
        var e: Expr
        if isOp("-") || isOp("+") {
            let o = isOp("-") ? "neg" : "pos"
            advance()
            e = Expr(kind: .unary(o, try parseUnary(withFilter: false)), location: loc)
        } else {
            e = try parsePrimary()
        }
        e = try parsePostfix(e)
        if withFilter { e = try parseFilterExpr(e) }
        return e
    }

    mutating func parsePrimary() throws -> Expr {
        let t = current
        switch t.kind {
        case .name(let n):
            advance()
            switch n {
            case "true", "True": return Expr(kind: .literal(.bool(true)), location: t.location)
            case "false", "False": return Expr(kind: .literal(.bool(false)), location: t.location)
            case "none", "None": return Expr(kind: .literal(.none), location: t.location)
            default: return Expr(kind: .name(n), location: t.location)
            }
        case .string(var s):
            advance()
            while case .string(let more) = current.kind { s += more; advance() }
            return Expr(kind: .literal(.string(s)), location: t.location)
        case .integer(let v):
            advance()
            return Expr(kind: .literal(.int(v)), location: t.location)
        case .float(let v):
            advance()
            return Expr(kind: .literal(.float(v)), location: t.location)
        case .op("("):
            advance()
            let e = try parseTuple(explicit: true)
            try expectOp(")")
            return e
        case .op("["):
            advance()
            var items: [Expr] = []
            while !isOp("]") {
                if !items.isEmpty { try expectOp(",") }
                if isOp("]") { break }
                items.append(try parseExpression())
            }
            try expectOp("]")
            return Expr(kind: .list(items), location: t.location)
        case .op("{"):
            advance()
            var pairs: [(Expr, Expr)] = []
            while !isOp("}") {
                if !pairs.isEmpty { try expectOp(",") }
                if isOp("}") { break }
                let k = try parseExpression()
                try expectOp(":")
                pairs.append((k, try parseExpression()))
            }
            try expectOp("}")
            return Expr(kind: .dict(pairs), location: t.location)
        default:
            throw error("unexpected \(describe(t.kind))")
        }
    }

    mutating func parsePostfix(_ base: Expr) throws -> Expr {
        let savedDepth = depth
        defer { depth = savedDepth }
        var e = base
        while true {
            try enter()
            let loc = current.location
            if skipOp(".") {
                switch current.kind {
                case .name(let n):
                    advance()
                    e = Expr(kind: .attribute(e, n), location: loc)
                case .integer(let v):
                    advance()
                    e = Expr(kind: .item(e, Expr(kind: .literal(.int(v)), location: loc)), location: loc)
                default:
                    throw error("expected a name after '.', got \(describe(current.kind))")
                }
            } else if skipOp("[") {
                var subs: [Expr] = []
                while !isOp("]") {
                    if !subs.isEmpty { try expectOp(",") }
                    if isOp("]") { break }
                    subs.append(try parseSubscript())
                }
                try expectOp("]")
                let index = subs.count == 1 ? subs[0] : Expr(kind: .tuple(subs), location: loc)
                if case .slice(_, let a, let b, let c) = index.kind {
                    e = Expr(kind: .slice(e, start: a, stop: b, step: c), location: loc)
                } else {
                    e = Expr(kind: .item(e, index), location: loc)
                }
            } else if isOp("(") {
                e = Expr(kind: .call(e, try parseCallArguments()), location: loc)
            } else {
                return e
            }
        }
    }

    /// One subscript: an expression or a slice `a:b:c` (the slice's base is filled in by the caller).
    private mutating func parseSubscript() throws -> Expr {
        let loc = current.location
        var start: Expr? = nil
        if !isOp(":") {
            start = try parseExpression()
            if !isOp(":") { return start! }
        }
        advance()
        var stop: Expr? = nil
        var step: Expr? = nil
        if !isOp("]") && !isOp(",") && !isOp(":") { stop = try parseExpression() }
        if skipOp(":") {
            if !isOp("]") && !isOp(",") { step = try parseExpression() }
        }
        let placeholder = Expr(kind: .literal(.none), location: loc)
        return Expr(kind: .slice(placeholder, start: start, stop: stop, step: step), location: loc)
    }

    mutating func parseCallArguments() throws -> CallArguments {
        try expectOp("(")
        var args = CallArguments()
        var first = true
        while !isOp(")") {
            if !first { try expectOp(","); if isOp(")") { break } }
            first = false
            if skipOp("*") {
                args.starArgs = try parseExpression()
            } else if skipOp("**") {
                args.starKwargs = try parseExpression()
            } else if case .name(let n) = current.kind, next.kind == .op("=") {
                advance(); advance()
                args.keyword.append((n, try parseExpression()))
            } else {
                if !args.keyword.isEmpty { throw error("positional argument after keyword argument") }
                args.positional.append(try parseExpression())
            }
        }
        try expectOp(")")
        return args
    }

    mutating func parseDottedName() throws -> String {
        var name = try expectName()
        while isOp("."), case .name(let more) = next.kind {
            advance(); advance()
            name += "." + more
        }
        return name
    }

    private mutating func parseFilterExpr(_ base: Expr) throws -> Expr {
        let savedDepth = depth
        defer { depth = savedDepth }
        var e = base
        while true {
            try enter()
            let loc = current.location
            if skipOp("|") {
                let name = try parseDottedName()
                let args = isOp("(") ? try parseCallArguments() : CallArguments()
                e = Expr(kind: .filter(e, name: name, args), location: loc)
            } else if isName("is") {
                advance()
                let negated = skipName("not")
                let name = try parseDottedName()
                var args = CallArguments()
                if isOp("(") {
                    args = try parseCallArguments()
                } else if startsTestArgument {
                    if isName("is") { throw error("you cannot chain multiple tests with is") }
                    args.positional = [try parsePostfix(try parsePrimary())]
                }
                e = Expr(kind: .test(e, name: name, args, negated: negated), location: loc)
            } else if isOp("(") {
                e = Expr(kind: .call(e, try parseCallArguments()), location: loc)
            } else {
                return e
            }
        }
    }

    private var startsTestArgument: Bool {
        switch current.kind {
        case .name(let n): return !["else", "or", "and"].contains(n)
        case .string, .integer, .float, .op("("), .op("["), .op("{"): return true
        default: return false
        }
    }
}
