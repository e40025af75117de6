/// Expressions, as jinja2's parser builds them.
struct Expr {
    indirect enum Kind {
        case literal(Value)
        case name(String)
        case list([Expr])
        case tuple([Expr])
        case dict([(Expr, Expr)])
        case attribute(Expr, String)
        case item(Expr, Expr)
        case slice(Expr, start: Expr?, stop: Expr?, step: Expr?)
        case unary(String, Expr)
        case binary(String, Expr, Expr)
        case concat([Expr])
        case compare(Expr, [(String, Expr)])
        case conditional(test: Expr, then: Expr, otherwise: Expr?)
        case filter(Expr, name: String, CallArguments)
        case test(Expr, name: String, CallArguments, negated: Bool)
        case call(Expr, CallArguments)
    }
    var kind: Kind
    var location: SourceLocation
}

struct CallArguments {
    var positional: [Expr] = []
    var keyword: [(String, Expr)] = []
    var starArgs: Expr? = nil
    var starKwargs: Expr? = nil
}

/// A name, a tuple of names (`for k, v in …`) or a namespace attribute (`set ns.x = …`).
indirect enum AssignTarget {
    case name(String)
    case tuple([AssignTarget])
    case attribute(String, String)
}

struct FilterCall {
    var name: String
    var arguments: CallArguments
    var location: SourceLocation
}

struct MacroDefinition {
    var name: String
    var parameters: [(String, Expr?)]
    var body: [Stmt]
    /// Names local to the macro body that start undefined (see `Scoping`).
    var locals: FrameNames

    init(name: String, parameters: [(String, Expr?)], body: [Stmt]) {
        self.name = name
        self.parameters = parameters
        self.body = body
        locals = Scoping.localsUndefinedAtEntry(body, parameters: parameters.map(\.0) + ["caller", "varargs", "kwargs"])
    }
}

struct Stmt {
    indirect enum Kind {
        case text(String)
        case output(Expr)
        case ifChain([(Expr, [Stmt])], otherwise: [Stmt])
        case forLoop(target: AssignTarget, iterable: Expr, condition: Expr?, body: [Stmt], otherwise: [Stmt], recursive: Bool,
                     locals: FrameNames)
        case set(AssignTarget, Expr)
        case setBlock(AssignTarget, filters: [FilterCall], body: [Stmt])
        case macro(MacroDefinition)
        case callBlock(call: Expr, caller: MacroDefinition)
        case filterBlock([FilterCall], body: [Stmt])
        case with([(AssignTarget, Expr)], body: [Stmt])
        case breakLoop
        case continueLoop
        case sequence([Stmt])
        /// A body rendered in its own frame (`generation`, `block`): assignments inside stay inside.
        case scoped([Stmt], locals: FrameNames)
    }
    var kind: Kind
    var location: SourceLocation
}
