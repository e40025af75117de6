/// Variables visible at a point of the template. Loops, macros and `with` blocks open a child scope,
/// so a `set` inside them does not leak out (which is why templates carry state in a `namespace`).
final class Scope {
    private var variables: [String: Value] = [:]
    let parent: Scope?

    init(parent: Scope?, _ variables: [String: Value] = [:]) {
        self.parent = parent
        self.variables = variables
    }

    func lookup(_ name: String) -> Value? {
        var s: Scope? = self
        while let scope = s {
            if let v = scope.variables[name] { return v }
            s = scope.parent
        }
        return nil
    }

    func set(_ name: String, _ value: Value) { variables[name] = value }

    /// Declares frame-local names that are assigned later in the frame (see `Scoping`).
    func markUndefined(_ names: Set<String>) {
        for n in names { variables[n] = .undefined(Undefined(hint: "'\(n)' is undefined")) }
    }
}

/// The control flow a statement hands back to its enclosing loop.
enum Flow {
    case normal, breakLoop, continueLoop
}
