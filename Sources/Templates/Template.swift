import Foundation

/// How a template behaves where jinja2 environments differ.
public struct TemplateOptions: Sendable {
    /// jinja2's ImmutableSandboxedEnvironment, which transformers uses: list and dict methods that
    /// mutate (`append`, `update`, `pop`…) are unsafe and calling them is an error.
    public var immutableSandbox: Bool
    /// The time `strftime_now` formats (in the local time zone); the current time when nil. Tests pin it.
    public var now: Date?

    public init(immutableSandbox: Bool = true, now: Date? = nil) {
        self.immutableSandbox = immutableSandbox
        self.now = now
    }
}

/// A parsed Jinja2 template, configured as transformers configures chat templates
/// (`trim_blocks`, `lstrip_blocks`, loop controls, the `generation` tag, its `tojson` and globals).
/// Parse once, render many times; rendering does not change the template.
public struct Template: @unchecked Sendable {
    let body: [Stmt]
    let rootLocals: FrameNames
    public let options: TemplateOptions

    public init(_ source: String, options: TemplateOptions = TemplateOptions()) throws {
        body = try Parser.parse(source)
        rootLocals = Scoping.localsUndefinedAtEntry(body)
        self.options = options
    }

    /// Renders with `context` as the template's variables (on top of the globals: `range`, `namespace`,
    /// `dict`, `raise_exception`, `strftime_now`, `cycler`, `joiner`).
    public func render(_ context: [String: Value] = [:]) throws -> String {
        let globals = Scope(parent: nil, Globals.standard(now: options.now))
        let scope = Scope(parent: Scope(parent: globals, context))
        scope.enterFrame(rootLocals)
        let interpreter = Interpreter(options: options)
        _ = try interpreter.render(body, in: scope)
        return interpreter.output
    }
}
