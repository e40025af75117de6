/// jinja2 decides at compile time which names belong to a frame (the template root, a loop body, a macro):
/// a name whose first use at a frame's own level is an assignment is that frame's local from the start,
/// so loops and macros nested in the frame see it as undefined until the assignment runs, rather than the
/// caller's variable of the same name. This computes those names for a frame body; the interpreter marks
/// them undefined when it enters the frame, unless an enclosing frame knows the name (then jinja2 aliases
/// the enclosing variable).
struct FrameNames: Sendable {
    /// Names whose first use at this frame's level is an assignment.
    var storedFirst: Set<String> = []
    /// Every name the frame's own level loads or stores.
    var symbols: Set<String> = []
}

enum Scoping {
    static func localsUndefinedAtEntry(_ body: [Stmt], parameters: [String] = []) -> FrameNames {
        var walker = Walker()
        for p in parameters { walker.seen.insert(p) }
        walker.visit(body, inBranch: false)
        return FrameNames(storedFirst: walker.undefinedAtEntry, symbols: walker.seen)
    }

    private struct Walker {
        var seen: Set<String> = []
        var undefinedAtEntry: Set<String> = []

        mutating func load(_ name: String) { seen.insert(name) }

        mutating func store(_ name: String, inBranch: Bool) {
            if !seen.contains(name) && !inBranch { undefinedAtEntry.insert(name) }
            seen.insert(name)
        }

        mutating func store(_ target: AssignTarget, inBranch: Bool) {
            switch target {
            case .name(let n): store(n, inBranch: inBranch)
            case .tuple(let items): for t in items { store(t, inBranch: inBranch) }
            case .attribute(let ns, _): load(ns)
            }
        }

        mutating func visit(_ body: [Stmt], inBranch: Bool) {
            for s in body { visit(s, inBranch: inBranch) }
        }

        mutating func visit(_ s: Stmt, inBranch: Bool) {
            switch s.kind {
            case .text, .breakLoop, .continueLoop, .scoped: break
            case .output(let e): visit(e)
            case .ifChain(let branches, let otherwise):
                // Names assigned only inside branches start from the enclosing value, as in jinja2.
                for (test, _) in branches { visit(test) }
                for (_, b) in branches { visit(b, inBranch: true) }
                visit(otherwise, inBranch: true)
            case .forLoop(_, let iterable, _, _, _, _, _): visit(iterable)
            case .set(let target, let e):
                visit(e)
                store(target, inBranch: inBranch)
            case .setBlock(let target, _, _): store(target, inBranch: inBranch)
            case .macro(let def): store(def.name, inBranch: inBranch)
            case .callBlock(let call, _): visit(call)
            case .filterBlock(let filters, let body):
                for f in filters { visit(f.arguments) }
                visit(body, inBranch: inBranch)
            case .with(let assignments, _): for (_, e) in assignments { visit(e) }
            case .sequence(let body): visit(body, inBranch: inBranch)
            }
        }

        mutating func visit(_ args: CallArguments) {
            for e in args.positional { visit(e) }
            for (_, e) in args.keyword { visit(e) }
            if let e = args.starArgs { visit(e) }
            if let e = args.starKwargs { visit(e) }
        }

        mutating func visit(_ e: Expr) {
            switch e.kind {
            case .literal: break
            case .name(let n): load(n)
            case .list(let items), .tuple(let items), .concat(let items): for i in items { visit(i) }
            case .dict(let pairs): for (k, v) in pairs { visit(k); visit(v) }
            case .attribute(let b, _): visit(b)
            case .item(let b, let i): visit(b); visit(i)
            case .slice(let b, let x, let y, let z):
                visit(b)
                for part in [x, y, z] { if let part { visit(part) } }
            case .unary(_, let x): visit(x)
            case .binary(_, let l, let r): visit(l); visit(r)
            case .compare(let first, let rest):
                visit(first)
                for (_, r) in rest { visit(r) }
            case .conditional(let t, let a, let b):
                visit(t); visit(a)
                if let b { visit(b) }
            case .filter(let b, _, let args): visit(b); visit(args)
            case .test(let b, _, let args, _): visit(b); visit(args)
            case .call(let f, let args): visit(f); visit(args)
            }
        }
    }
}
