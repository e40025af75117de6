/// One function call the model made: `arguments` is JSON text, as OpenAI's `tool_calls` carry it.
public struct ParsedToolCall: Sendable, Equatable {
    public let id: String
    public let name: String
    public let arguments: String

    public init(id: String = makeToolCallID(), name: String, arguments: String) {
        self.id = id
        self.name = name
        self.arguments = arguments
    }
}

/// One streamed piece of a tool call (`delta.tool_calls[i]`): the first piece of call `index`
/// carries its `id` and `name`; the `argumentsDelta`s of a call, concatenated, are its final
/// `arguments` string.
public struct ToolCallDelta: Sendable, Equatable {
    public let index: Int
    public let id: String?
    public let name: String?
    public let argumentsDelta: String?

    public init(index: Int, id: String? = nil, name: String? = nil, argumentsDelta: String? = nil) {
        self.index = index
        self.id = id
        self.name = name
        self.argumentsDelta = argumentsDelta
    }
}

/// What one streamed chunk adds: answer text and/or tool-call pieces.
public struct ToolStreamDelta: Sendable, Equatable {
    public var content: String?
    public var toolCalls: [ToolCallDelta]

    public init(content: String? = nil, toolCalls: [ToolCallDelta] = []) {
        self.content = content
        self.toolCalls = toolCalls
    }

    /// nil when there is nothing to send.
    static func make(content: String, toolCalls: [ToolCallDelta]) -> ToolStreamDelta? {
        if content.isEmpty && toolCalls.isEmpty { return nil }
        return ToolStreamDelta(content: content.isEmpty ? nil : content, toolCalls: toolCalls)
    }
}

/// A tool the request offered (`tools[i].function`), reduced to what the parsers read: its name
/// and the schema type of each parameter (`parameters.properties.<name>.type`).
public struct ToolDefinition: Sendable, Equatable {
    public let name: String
    /// Parameter name → its JSON schema `type` (`"string"`, `"integer"`, …), where the schema
    /// names a single type.
    public let parameterTypes: [String: String]

    public init(name: String, parameterTypes: [String: String] = [:]) {
        self.name = name
        self.parameterTypes = parameterTypes
    }

    /// From the JSON text of the tool's `parameters` schema; a schema that does not parse gives
    /// no types.
    public init(name: String, parametersJSON: String) {
        var types: [String: String] = [:]
        if let schema = PartialJSON.parseComplete(parametersJSON),
           case .some(.some(.object(let properties, _))) = schema.member("properties") {
            for property in properties {
                if case .some(.some(.string(let type, true))) = property.value?.member("type") {
                    types[property.key] = types[property.key] ?? type
                }
            }
        }
        self.init(name: name, parameterTypes: types)
    }

    /// The schema type of parameter `argument`, if the schema names one.
    public func parameterType(_ argument: String) -> String? {
        parameterTypes[argument]
    }
}

/// Finds the tool calls in a model's answer (the content left after reasoning was split off).
///
/// A parser is a per-request value (`ToolParsers.make`): `extract` reads a whole answer;
/// `extractStreaming` reads it delta by delta, then `finish` flushes what was held back. For
/// well-formed output, accumulating the stream gives exactly `extract`'s result.
public protocol ToolParser: Sendable {
    /// Whole answer → (content, tool calls). Content is the text before the first tool call (nil
    /// when empty); text after the calls is dropped, as vLLM does. Output that cannot be parsed
    /// comes back whole as content with no tool calls.
    func extract(_ text: String) -> (content: String?, toolCalls: [ParsedToolCall])

    /// Streaming: the next piece of the answer → content and tool-call pieces to send now, or nil
    /// when nothing is to be sent yet.
    mutating func extractStreaming(delta: String) -> ToolStreamDelta?

    /// End of generation: flushes held-back text and settles an unclosed last call.
    mutating func finish() -> ToolStreamDelta?
}

extension ToolParser {
    /// vLLM-shaped entry point; the parser keeps its own state, so only `delta` is read.
    public mutating func extractStreaming(previousText: String, currentText: String, delta: String) -> ToolStreamDelta? {
        extractStreaming(delta: delta)
    }
}

/// A fresh tool call id in vLLM's form: `chatcmpl-tool-` and 32 random hex digits.
public func makeToolCallID() -> String {
    var generator = SystemRandomNumberGenerator()
    let hex = (0..<2).map { _ in
        let s = String(generator.next() as UInt64, radix: 16)
        return String(repeating: "0", count: 16 - s.count) + s
    }
    return "chatcmpl-tool-" + hex.joined()
}

public enum ToolParserError: Error, Equatable, CustomStringConvertible {
    case unknownParser(String)

    public var description: String {
        switch self {
        case .unknownParser(let name):
            "unknown tool call parser '\(name)'; available: \(ToolParsers.names.joined(separator: ", "))"
        }
    }
}

/// The tool parsers, keyed by the names `--tool-call-parser` accepts (vLLM's names).
public enum ToolParsers {
    public static let names: [String] = ["glm45", "hermes"]

    /// - Parameter tools: the request's tools; GLM-4.5 reads their schemas to type arguments.
    public static func make(_ name: String, tools: [ToolDefinition] = []) throws -> any ToolParser {
        switch name {
        case "hermes": return HermesToolParser()
        case "glm45": return GLM45ToolParser(tools: tools)
        default: throw ToolParserError.unknownParser(name)
        }
    }
}
