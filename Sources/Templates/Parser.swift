/// Builds the syntax tree from tokens, following jinja2's grammar and operator precedence
/// (or < and < not < comparisons < + - < ~ < * / // % < ** < unary < postfix, filters and tests).
struct Parser {
    private var tokens: [Token]
    private var i = 0
    private var depth = 0
    /// How many `for` bodies enclose the current point (reset inside macros): `break` needs one.
    private var loopDepth = 0
    static let maxDepth = 200

    init(tokens: [Token]) { self.tokens = tokens }

    static func parse(_ source: String) throws -> [Stmt] {
        var p = Parser(tokens: try Lexer.tokenize(source))
        let body = try p.parseBody(until: [])
        return body
    }

    // MARK: token helpers

    private var current: Token { tokens[min(i, tokens.count - 1)] }
    private var next: Token { tokens[min(i + 1, tokens.count - 1)] }
    private mutating func advance() { if i < tokens.count - 1 { i += 1 } }

    private func describe(_ t: TokenKind) -> String {
        switch t {
        case .text: return "template data"
        case .variableBegin: return "'{{'"
        case .variableEnd: return "'}}'"
        case .blockBegin: return "'{%'"
        case .blockEnd: return "'%}'"
        case .name(let n): return "'\(n)'"
        case .string(let s): return "string '\(s)'"
        case .integer(let v): return "'\(v)'"
        case .float(let v): return "'\(v)'"
        case .op(let o): return "'\(o)'"
        case .eof: return "end of template"
        }
    }

    private func error(_ message: String, at token: Token? = nil) -> TemplateError {
        let t = token ?? current
        return TemplateError(kind: .syntax, line: t.location.line, column: t.location.column, message: message)
    }

    private func isOp(_ o: String) -> Bool { current.kind == .op(o) }
    private func isName(_ n: String) -> Bool { current.kind == .name(n) }

    private mutating func skipOp(_ o: String) -> Bool {
        if isOp(o) { advance(); return true }
        return false
    }

    private mutating func skipName(_ n: String) -> Bool {
        if isName(n) { advance(); return true }
        return false
    }

    private mutating func expectOp(_ o: String) throws {
        guard skipOp(o) else { throw error("expected '\(o)', got \(describe(current.kind))") }
    }

    private mutating func expectName() throws -> String {
        guard case .name(let n) = current.kind else { throw error("expected a name, got \(describe(current.kind))") }
        advance()
        return n
    }

    private mutating func expectBlockEnd() throws {
        guard current.kind == .blockEnd else { throw error("expected '%}', got \(describe(current.kind))") }
        advance()
    }

    private mutating func enter() throws {
        depth += 1
        if depth > Parser.maxDepth { throw error("template nested too deeply") }
    }

    // MARK: statements

    /// Parses statements until a block tag whose name is in `until`; leaves the parser on that name.
    private mutating func parseBody(until: Set<String>) throws -> [Stmt] {
        try enter()
        defer { depth -= 1 }
        var body: [Stmt] = []
        while true {
            let t = current
            switch t.kind {
            case .eof:
                if until.isEmpty { return body }
                let wanted = until.sorted().map { "'\($0)'" }.joined(separator: " or ")
                throw error("unexpected end of template, expected \(wanted)")
            case .text(let s):
                body.append(Stmt(kind: .text(s), location: t.location))
                advance()
            case .variableBegin:
                advance()
                let e = try parseTuple()
                guard current.kind == .variableEnd else { throw error("expected '}}', got \(describe(current.kind))") }
                advance()
                body.append(Stmt(kind: .output(e), location: t.location))
            case .blockBegin:
                advance()
                guard case .name(let tag) = current.kind else {
                    throw error("expected a tag name, got \(describe(current.kind))")
                }
                if until.contains(tag) { return body }
                body.append(try parseStatement(tag, at: t.location))
            default:
                throw error("unexpected \(describe(t.kind))")
            }
        }
    }

    private mutating func parseStatement(_ tag: String, at loc: SourceLocation) throws -> Stmt {
        let nameToken = current
        advance()
        switch tag {
        case "if": return try parseIf(loc)
        case "for": return try parseFor(loc)
        case "set": return try parseSet(loc)
        case "macro":
            let def = try parseMacroSignature(name: try expectName())
            try expectBlockEnd()
            let savedLoopDepth = loopDepth
            loopDepth = 0
            defer { loopDepth = savedLoopDepth }
            let body = try parseBody(until: ["endmacro"])
            try closeTag("endmacro")
            return Stmt(kind: .macro(MacroDefinition(name: def.name, parameters: def.parameters, body: body)), location: loc)
        case "call":
            var params: [(String, Expr?)] = []
            if isOp("(") { params = try parseMacroSignature(name: "caller").parameters }
            let call = try parseExpression()
            guard case .call = call.kind else { throw error("expected a call after 'call'", at: nameToken) }
            try expectBlockEnd()
            let body = try parseBody(until: ["endcall"])
            try closeTag("endcall")
            return Stmt(kind: .callBlock(call: call, caller: MacroDefinition(name: "caller", parameters: params, body: body)), location: loc)
        case "filter":
            let filters = try parseFilterChain(first: true)
            try expectBlockEnd()
            let body = try parseBody(until: ["endfilter"])
            try closeTag("endfilter")
            return Stmt(kind: .filterBlock(filters, body: body), location: loc)
        case "with":
            var assignments: [(AssignTarget, Expr)] = []
            while current.kind != .blockEnd {
                if !assignments.isEmpty { try expectOp(",") }
                let target = try parseAssignTarget(allowTuple: false, allowNamespace: false)
                try expectOp("=")
                assignments.append((target, try parseExpression()))
            }
            try expectBlockEnd()
            let body = try parseBody(until: ["endwith"])
            try closeTag("endwith")
            return Stmt(kind: .with(assignments, body: body), location: loc)
        case "block":
            // No inheritance here (there is nothing to extend), so a block just renders in place.
            let name = try expectName()
            while skipName("scoped") || skipName("required") {}
            try expectBlockEnd()
            let body = try parseBody(until: ["endblock"])
            guard skipName("endblock") else { throw error("expected 'endblock'") }
            if case .name(let closing) = current.kind {
                guard closing == name else { throw error("mismatched block name '\(closing)', expected '\(name)'") }
                advance()
            }
            try expectBlockEnd()
            return Stmt(kind: .scoped(body, locals: Scoping.localsUndefinedAtEntry(body)), location: loc)
        case "generation":
            // transformers' AssistantTracker: the body renders as-is.
            try expectBlockEnd()
            let body = try parseBody(until: ["endgeneration"])
            try closeTag("endgeneration")
            return Stmt(kind: .scoped(body, locals: Scoping.localsUndefinedAtEntry(body)), location: loc)
        case "break", "continue":
            guard loopDepth > 0 else { throw error("'\(tag)' outside loop", at: nameToken) }
            try expectBlockEnd()
            return Stmt(kind: tag == "break" ? .breakLoop : .continueLoop, location: loc)
        default:
            throw error("unexpected '\(tag)'", at: nameToken)
        }
    }

    private mutating func closeTag(_ name: String) throws {
        guard skipName(name) else { throw error("expected '\(name)'") }
        try expectBlockEnd()
    }

    private mutating func parseIf(_ loc: SourceLocation) throws -> Stmt {
        var branches: [(Expr, [Stmt])] = []
        var otherwise: [Stmt] = []
        // jinja2 parses if-conditions without the inline `x if c` form, so `{% if a if b %}` is an error.
        var test = try parseTuple(withCondexpr: false)
        while true {
            try expectBlockEnd()
            let body = try parseBody(until: ["elif", "else", "endif"])
            branches.append((test, body))
            if skipName("elif") {
                test = try parseTuple(withCondexpr: false)
                continue
            }
            if skipName("else") {
                try expectBlockEnd()
                otherwise = try parseBody(until: ["endif"])
            }
            try closeTag("endif")
            return Stmt(kind: .ifChain(branches, otherwise: otherwise), location: loc)
        }
    }

    private mutating func parseFor(_ loc: SourceLocation) throws -> Stmt {
        let target = try parseAssignTarget(allowTuple: true, allowNamespace: false, endNames: ["in"])
        guard skipName("in") else { throw error("expected 'in', got \(describe(current.kind))") }
        let iterable = try parseTuple(withCondexpr: false, endNames: ["recursive"])
        var condition: Expr? = nil
        if skipName("if") { condition = try parseExpression() }
        let recursive = skipName("recursive")
        try expectBlockEnd()
        loopDepth += 1
        let body = try parseBody(until: ["endfor", "else"])
        loopDepth -= 1
        var otherwise: [Stmt] = []
        if skipName("else") {
            try expectBlockEnd()
            otherwise = try parseBody(until: ["endfor"])
        }
        try closeTag("endfor")
        var params: [String] = ["loop"]
        func names(_ t: AssignTarget) {
            switch t {
            case .name(let n): params.append(n)
            case .tuple(let items): items.forEach(names)
            case .attribute: break
            }
        }
        names(target)
        return Stmt(kind: .forLoop(target: target, iterable: iterable, condition: condition, body: body,
                                   otherwise: otherwise, recursive: recursive,
                                   locals: Scoping.localsUndefinedAtEntry(body, parameters: params)), location: loc)
    }

    private mutating func parseSet(_ loc: SourceLocation) throws -> Stmt {
        let target = try parseAssignTarget(allowTuple: true, allowNamespace: true)
        if skipOp("=") {
            let value = try parseTuple()
            try expectBlockEnd()
            return Stmt(kind: .set(target, value), location: loc)
        }
        let filters = isOp("|") ? try parseFilterChain(first: false) : []
        try expectBlockEnd()
        let body = try parseBody(until: ["endset"])
        try closeTag("endset")
        return Stmt(kind: .setBlock(target, filters: filters, body: body), location: loc)
    }

    private mutating func parseMacroSignature(name: String) throws -> MacroDefinition {
        try expectOp("(")
        var params: [(String, Expr?)] = []
        while !isOp(")") {
            if !params.isEmpty { try expectOp(",") }
            if isOp(")") { break }
            let p = try expectName()
            params.append((p, skipOp("=") ? try parseExpression() : nil))
        }
        try expectOp(")")
        return MacroDefinition(name: name, parameters: params, body: [])
    }

    private mutating func parseFilterChain(first: Bool) throws -> [FilterCall] {
        var filters: [FilterCall] = []
        var needPipe = !first
        while true {
            if needPipe { guard skipOp("|") else { break } }
            needPipe = true
            let loc = current.location
            let name = try parseDottedName()
            let args = isOp("(") ? try parseCallArguments() : CallArguments()
            filters.append(FilterCall(name: name, arguments: args, location: loc))
        }
        return filters
    }

    private mutating func parseAssignTarget(allowTuple: Bool, allowNamespace: Bool, endNames: Set<String> = []) throws -> AssignTarget {
        func single(_ p: inout Parser) throws -> AssignTarget {
            if p.skipOp("(") {
                let t = try p.parseAssignTarget(allowTuple: true, allowNamespace: false)
                try p.expectOp(")")
                return t
            }
            let name = try p.expectName()
            if allowNamespace, p.isOp("."), case .name(let attr) = p.next.kind {
                p.advance(); p.advance()
                return .attribute(name, attr)
            }
            if ["true", "false", "none", "True", "False", "None"].contains(name) {
                throw p.error("can't assign to '\(name)'")
            }
            return .name(name)
        }
        let first = try single(&self)
        guard allowTuple, isOp(",") else { return first }
        var items = [first]
        while skipOp(",") {
            if case .name(let n) = current.kind, endNames.contains(n) { break }
            if current.kind == .blockEnd || isOp("=") || isOp(")") { break }
            items.append(try single(&self))
        }
        return .tuple(items)
    }

    // MARK: expressions

    /// An expression or a bare tuple `a, b` (as in `{{ a, b }}` or `set x = 1, 2`).
    private mutating func parseTuple(withCondexpr: Bool = true, endNames: Set<String> = [], explicit: Bool = false) throws -> Expr {
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

    private mutating func parseOr() throws -> Expr {
        let savedDepth = depth
        defer { depth = savedDepth }
        var left = try parseAnd()
        while isName("or") {
            try enter()
            let loc = current.location
            advance()
            left = Expr(kind: .binary("or", left, try parseAnd()), location: loc)
        }
        return left
    }

    private mutating func parseAnd() throws -> Expr {
        let savedDepth = depth
        defer { depth = savedDepth }
        var left = try parseNot()
        while isName("and") {
            try enter()
            let loc = current.location
            advance()
            left = Expr(kind: .binary("and", left, try parseNot()), location: loc)
        }
        return left
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
        let savedDepth = depth
        defer { depth = savedDepth }
        var left = try parseConcat()
        while case .op(let o) = current.kind, o == "+" || o == "-" {
            try enter()
            let loc = current.location
            advance()
            left = Expr(kind: .binary(o, left, try parseConcat()), location: loc)
        }
        return left
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
        let savedDepth = depth
        defer { depth = savedDepth }
        var left = try parsePow()
        while case .op(let o) = current.kind, ["*", "/", "//", "%"].contains(o) {
            try enter()
            let loc = current.location
            advance()
            left = Expr(kind: .binary(o, left, try parsePow()), location: loc)
        }
        return left
    }

    private mutating func parsePow() throws -> Expr {
        let savedDepth = depth
        defer { depth = savedDepth }
        var left = try parseUnary()
        while isOp("**") {
            try enter()
            let loc = current.location
            advance()
            left = Expr(kind: .binary("**", left, try parseUnary()), location: loc)
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

    private mutating func parsePrimary() throws -> Expr {
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

    private mutating func parsePostfix(_ base: Expr) throws -> Expr {
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

    private mutating func parseCallArguments() throws -> CallArguments {
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

    private mutating func parseDottedName() throws -> String {
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
