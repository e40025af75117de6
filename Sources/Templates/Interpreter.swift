import Foundation

/// Renders a parsed template: statements write into `output`; expressions are evaluated in
/// `Evaluation.swift`, with operators, attribute access, filters and tests in their own files.
final class Interpreter {
    var output = ""
    var callDepth = 0
    let options: TemplateOptions
    static let maxCallDepth = 80

    init(options: TemplateOptions) { self.options = options }

    func render(_ body: [Stmt], in scope: Scope) throws -> Flow {
        for stmt in body {
            let flow = try execute(stmt, in: scope)
            if flow != .normal { return flow }
        }
        return .normal
    }

    /// Renders `body` into a fresh buffer and returns what it wrote.
    func capture(_ body: [Stmt], in scope: Scope) throws -> String {
        let saved = output
        output = ""
        defer { output = saved }
        _ = try render(body, in: scope)
        return output
    }

    private func execute(_ stmt: Stmt, in scope: Scope) throws -> Flow {
        do {
            return try executeUnlocated(stmt, in: scope)
        } catch var e as TemplateError where e.line == 0 {
            e.line = stmt.location.line
            e.column = stmt.location.column
            throw e
        }
    }

    private func executeUnlocated(_ stmt: Stmt, in scope: Scope) throws -> Flow {
        switch stmt.kind {
        case .text(let s):
            output += s
        case .output(let e):
            output += try evaluate(e, in: scope).pythonString
        case .ifChain(let branches, let otherwise):
            for (test, body) in branches where try evaluate(test, in: scope).truthy {
                return try render(body, in: scope)
            }
            return try render(otherwise, in: scope)
        case .forLoop(let target, let iterable, let condition, let body, let otherwise, let recursive, let locals):
            let items = try iterate(try evaluate(iterable, in: scope))
            return try runLoop(items: items, target: target, condition: condition, body: body, otherwise: otherwise,
                               recursive: recursive, locals: locals, depth: 1, in: scope)
        case .set(let target, let e):
            try assign(target, try evaluate(e, in: scope), in: scope)
        case .setBlock(let target, let filters, let body):
            var v = Value.string(try capture(body, in: scope))
            v = try applyFilters(filters, to: v, in: scope)
            try assign(target, v, in: scope)
        case .macro(let def):
            scope.set(def.name, makeMacro(def, in: scope))
        case .callBlock(let call, let caller):
            guard case .call(let callee, let args) = call.kind else { return .normal }
            let f = try evaluate(callee, in: scope)
            var arguments = try evaluateArguments(args, in: scope)
            arguments.keyword.append(("caller", makeMacro(caller, in: scope)))
            output += try callValue(f, arguments).pythonString
        case .filterBlock(let filters, let body):
            let v = Value.string(try capture(body, in: scope))
            output += try applyFilters(filters, to: v, in: scope).pythonString
        case .with(let assignments, let body):
            let inner = Scope(parent: scope)
            inner.enterFrame(Scoping.localsUndefinedAtEntry(body, parameters: assignments.flatMap { a -> [String] in
                if case .name(let n) = a.0 { return [n] } else { return [] }
            }))
            for (target, e) in assignments { try assign(target, try evaluate(e, in: scope), in: inner) }
            return try render(body, in: inner)
        case .sequence(let body):
            return try render(body, in: scope)
        case .scoped(let body, let locals):
            let inner = Scope(parent: scope)
            inner.enterFrame(locals)
            return try render(body, in: inner)
        case .breakLoop:
            return .breakLoop
        case .continueLoop:
            return .continueLoop
        }
        return .normal
    }

    func applyFilters(_ filters: [FilterCall], to value: Value, in scope: Scope) throws -> Value {
        var v = value
        for f in filters {
            do {
                v = try applyFilter(f.name, to: v, try evaluateArguments(f.arguments, in: scope))
            } catch var e as TemplateError where e.line == 0 {
                e.line = f.location.line
                e.column = f.location.column
                throw e
            }
        }
        return v
    }

    func assign(_ target: AssignTarget, _ value: Value, in scope: Scope) throws {
        switch target {
        case .name(let n):
            scope.set(n, value)
        case .attribute(let ns, let attr):
            guard case .namespace(let storage) = scope.lookup(ns) ?? .undefinedValue else {
                throw TemplateError(message: "cannot assign attribute on non-namespace object")
            }
            if attr.hasPrefix("_") {
                throw TemplateError(message: "Chat templates cannot store underscore-prefixed attributes on a namespace, but got '\(attr)'. Please rename the attribute.")
            }
            storage[attr] = value
        case .tuple(let targets):
            let items = try iterate(value)
            guard items.count == targets.count else {
                throw TemplateError(message: items.count > targets.count
                    ? "too many values to unpack (expected \(targets.count))"
                    : "not enough values to unpack (expected \(targets.count), got \(items.count))")
            }
            for (t, v) in zip(targets, items) { try assign(t, v, in: scope) }
        }
    }

    // MARK: loops

    private func runLoop(items all: [Value], target: AssignTarget, condition: Expr?, body: [Stmt], otherwise: [Stmt],
                         recursive: Bool, locals: FrameNames, depth: Int, in scope: Scope) throws -> Flow {
        var items = all
        if let condition {
            items = try all.filter { item in
                let s = Scope(parent: scope)
                try assign(target, item, in: s)
                return try evaluate(condition, in: s).truthy
            }
        }
        if items.isEmpty { return try render(otherwise, in: scope) }
        let n = items.count
        var lastChanged: [Value]? = nil
        for (index, item) in items.enumerated() {
            let iterationScope = Scope(parent: scope)
            iterationScope.enterFrame(locals)
            try assign(target, item, in: iterationScope)
            let loop = DictStorage()
            loop["index0"] = .int(index)
            loop["index"] = .int(index + 1)
            loop["revindex"] = .int(n - index)
            loop["revindex0"] = .int(n - index - 1)
            loop["first"] = .bool(index == 0)
            loop["last"] = .bool(index == n - 1)
            loop["length"] = .int(n)
            loop["depth"] = .int(depth)
            loop["depth0"] = .int(depth - 1)
            loop["previtem"] = index > 0 ? items[index - 1] : .undefined(Undefined(hint: "there is no previous item"))
            loop["nextitem"] = index < n - 1 ? items[index + 1] : .undefined(Undefined(hint: "there is no next item"))
            loop["cycle"] = .function(Function("cycle") { args in
                guard !args.positional.isEmpty else { throw TemplateError(message: "no items for cycling given") }
                return args.positional[index % args.positional.count]
            })
            loop["changed"] = .function(Function("changed") { args in
                defer { lastChanged = args.positional }
                guard let last = lastChanged else { return .bool(true) }
                return .bool(!Operators.equal(.list(last), .list(args.positional)))
            })
            if recursive {
                loop["__call__"] = .function(Function("loop") { [weak self] args in
                    guard let self else { return .string("") }
                    let inner = try self.iterate(args.positional.first ?? .undefinedValue)
                    let saved = self.output
                    self.output = ""
                    defer { self.output = saved }
                    _ = try self.runLoop(items: inner, target: target, condition: condition, body: body, otherwise: [],
                                         recursive: true, locals: locals, depth: depth + 1, in: scope)
                    return .string(self.output)
                })
            }
            iterationScope.set("loop", .namespace(loop))
            if try render(body, in: iterationScope) == .breakLoop { break }
        }
        return .normal
    }

    /// Python iteration: lists and tuples by item, dicts by key, strings by character; undefined is empty.
    func iterate(_ v: Value) throws -> [Value] {
        switch v {
        case .list(let l): return l.items
        case .tuple(let t): return t
        case .dict(let d): return d.keys
        case .string(let s): return s.unicodeScalars.map { .string(String($0)) }
        case .undefined: return []
        default: throw TemplateError(message: "'\(v.typeName)' object is not iterable")
        }
    }

    // MARK: macros

    func makeMacro(_ def: MacroDefinition, in defining: Scope) -> Value {
        .function(Function(def.name) { [weak self] args in
            guard let self else { return .string("") }
            let s = Scope(parent: defining)
            s.enterFrame(def.locals)
            var positional = args.positional[...]
            var used = Set<String>()
            for (name, defaultValue) in def.parameters {
                if let v = positional.popFirst() {
                    s.set(name, v)
                } else if let v = args[keyword: name] {
                    s.set(name, v)
                    used.insert(name)
                } else if let d = defaultValue {
                    s.set(name, try self.evaluate(d, in: s))
                } else {
                    s.set(name, .undefined(Undefined(hint: "parameter '\(name)' was not provided")))
                }
            }
            let extraKeywords = DictStorage()
            for (k, v) in args.keyword where !used.contains(k) && k != "caller" { extraKeywords[k] = v }
            if let caller = args[keyword: "caller"] { s.set("caller", caller) }
            s.set("varargs", .tuple(Array(positional)))
            s.set("kwargs", .dict(extraKeywords))
            self.callDepth += 1
            defer { self.callDepth -= 1 }
            if self.callDepth > Interpreter.maxCallDepth {
                throw TemplateError(message: "maximum recursion depth exceeded in macro '\(def.name)'")
            }
            return .string(try self.capture(def.body, in: s))
        })
    }

    func callValue(_ f: Value, _ args: Arguments) throws -> Value {
        switch f {
        case .function(let fn): return try fn.body(args)
        case .namespace(let ns):
            if case .function(let fn) = ns["__call__"] ?? Value.none { return try fn.body(args) }
            throw TemplateError(message: "'\(f.typeName)' object is not callable")
        case .undefined(let u): throw TemplateError(message: u.message)
        default: throw TemplateError(message: "'\(f.typeName)' object is not callable")
        }
    }
}
