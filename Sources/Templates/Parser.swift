/// Builds the syntax tree from tokens, following jinja2's grammar and operator precedence
/// (or < and < not < comparisons < + - < ~ < * / // % < ** < unary < postfix, filters and tests).
struct Parser {
    var tokens: [Token]
    var i = 0
    var depth = 0
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

    var current: Token { tokens[min(i, tokens.count - 1)] }
    var next: Token { tokens[min(i + 1, tokens.count - 1)] }
    mutating func advance() { if i < tokens.count - 1 { i += 1 } }

    func describe(_ t: TokenKind) -> String {
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

    func error(_ message: String, at token: Token? = nil) -> TemplateError {
        let t = token ?? current
        return TemplateError(kind: .syntax, line: t.location.line, column: t.location.column, message: message)
    }

    func isOp(_ o: String) -> Bool { current.kind == .op(o) }
    func isName(_ n: String) -> Bool { current.kind == .name(n) }

    mutating func skipOp(_ o: String) -> Bool {
        if isOp(o) { advance(); return true }
        return false
    }

    mutating func skipName(_ n: String) -> Bool {
        if isName(n) { advance(); return true }
        return false
    }

    mutating func expectOp(_ o: String) throws {
        guard skipOp(o) else { throw error("expected '\(o)', got \(describe(current.kind))") }
    }

    mutating func expectName() throws -> String {
        guard case .name(let n) = current.kind else { throw error("expected a name, got \(describe(current.kind))") }
        advance()
        return n
    }

    mutating func expectBlockEnd() throws {
        guard current.kind == .blockEnd else { throw error("expected '%}', got \(describe(current.kind))") }
        advance()
    }

    mutating func enter() throws {
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
}
