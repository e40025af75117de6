import Engine
import Foundation
import HTTPTypes

/// An error answered in OpenAI's shape: `{"error": {"message", "type", "param", "code"}}`.
public struct APIError: Error, Sendable, CustomStringConvertible {
    public var status: HTTPResponse.Status
    public var message: String
    public var type: String
    public var param: String?

    public init(_ status: HTTPResponse.Status, _ message: String, type: String? = nil, param: String? = nil) {
        self.status = status
        self.message = message
        self.param = param
        self.type = type ?? Self.defaultType(status.code)
    }

    static func defaultType(_ code: Int) -> String {
        switch code {
        case 400, 413, 422: "BadRequestError"
        case 401: "AuthenticationError"
        case 404: "NotFoundError"
        case 405: "MethodNotAllowedError"
        case 503: "ServiceUnavailableError"
        default: "InternalServerError"
        }
    }

    public static func badRequest(_ message: String, param: String? = nil) -> APIError {
        APIError(.badRequest, message, param: param)
    }

    public var description: String { "\(status.code) \(message)" }

    struct Body: Encodable {
        struct Inner: Encodable {
            let message: String
            let type: String
            @NullEncoded var param: String?
            let code: Int
        }
        let error: Inner
    }

    public var body: Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        return (try? encoder.encode(Body(error: .init(message: message, type: type, param: param, code: Int(status.code)))))
            ?? Data("{\"error\":{\"message\":\"error\"}}".utf8)
    }

    /// Maps whatever a handler threw to the error the client sees: decoding failures and engine
    /// validation are the client's (400), anything else is ours (500).
    public static func from(_ error: Error) -> APIError {
        switch error {
        case let e as APIError: return e
        case let e as DecodingError: return fromDecoding(e)
        case let e as EngineError:
            switch e {
            case .promptTooLong, .emptyPrompt, .invalidParameter: return .badRequest(e.description)
            case .kvCacheTooSmall: return APIError(.internalServerError, e.description)
            }
        default: return APIError(.internalServerError, "\(error)")
        }
    }

    /// `messages[0].content` from a coding path.
    static func fieldName(_ path: [CodingKey]) -> String {
        var out = ""
        for key in path {
            if let i = key.intValue { out += "[\(i)]" } else { out += out.isEmpty ? key.stringValue : ".\(key.stringValue)" }
        }
        return out
    }

    public static func fromDecoding(_ error: DecodingError) -> APIError {
        switch error {
        case .keyNotFound(let key, let ctx):
            let field = fieldName(ctx.codingPath + [key])
            return .badRequest("Field required: '\(field)'", param: field)
        case .typeMismatch(let type, let ctx):
            let field = fieldName(ctx.codingPath)
            if field.isEmpty { return .badRequest("The request body must be a JSON object.") }
            let detail = ctx.debugDescription.hasPrefix("expected") ? ctx.debugDescription : "expected \(typeName(type))"
            return .badRequest("Invalid type for '\(field)': \(detail).", param: field)
        case .valueNotFound(let type, let ctx):
            let field = fieldName(ctx.codingPath)
            return .badRequest("Invalid value for '\(field)': expected \(typeName(type)), got null.", param: field)
        case .dataCorrupted(let ctx):
            let field = fieldName(ctx.codingPath)
            if field.isEmpty { return .badRequest("Invalid JSON in the request body: \(ctx.underlyingError.map { "\($0)" } ?? ctx.debugDescription)") }
            return .badRequest("Invalid value for '\(field)': \(ctx.debugDescription)", param: field)
        @unknown default:
            return .badRequest("Invalid request body.")
        }
    }

    static func typeName(_ type: Any.Type) -> String {
        let name = String(describing: type)
        switch name {
        case "String": return "a string"
        case "Int", "Int64", "Int32": return "an integer"
        case "Double", "Float": return "a number"
        case "Bool": return "a boolean"
        default:
            if name.hasPrefix("Array") { return "an array" }
            if name.hasPrefix("Dictionary") { return "an object" }
            return name
        }
    }
}
