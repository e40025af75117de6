/// A template that cannot be lexed, parsed or rendered. `line` and `column` are 1-based and point at the
/// construct at fault; 0 means the position is not known (for example a problem in data passed in).
public struct TemplateError: Error, CustomStringConvertible, Equatable, Sendable {
    public enum Kind: Sendable, Equatable {
        /// The template is malformed.
        case syntax
        /// Rendering failed: an undefined value misused, a type error, an unknown filter.
        case runtime
        /// The template called `raise_exception(message)`; `message` is the template's own text.
        case raised
    }

    public var kind: Kind
    public var line: Int
    public var column: Int
    public var message: String

    public init(kind: Kind = .runtime, line: Int = 0, column: Int = 0, message: String) {
        self.kind = kind
        self.line = line
        self.column = column
        self.message = message
    }

    public var description: String {
        line > 0 ? "line \(line), column \(column): \(message)" : message
    }
}

/// A position in the template source (1-based).
struct SourceLocation: Sendable {
    var line: Int
    var column: Int
}
