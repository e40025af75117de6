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

    /// The names of the template frame this scope belongs to (see `Scoping`).
    private var frameSymbols: Set<String> = []

    /// Enters a frame: names first assigned in it start undefined unless an enclosing frame knows them.
    func enterFrame(_ names: FrameNames) {
        frameSymbols = names.symbols
        for n in names.storedFirst {
            var s = parent
            var known = false
            while let scope = s, !known {
                known = scope.frameSymbols.contains(n)
                s = scope.parent
            }
            if !known { variables[n] = .undefined(Undefined(hint: "'\(n)' is undefined")) }
        }
    }
}

/// The control flow a statement hands back to its enclosing loop.
enum Flow {
    case normal, breakLoop, continueLoop
}
