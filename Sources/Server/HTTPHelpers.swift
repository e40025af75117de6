import Foundation
import Hummingbird

enum JSON {
    static let encoder: JSONEncoder = {
        let e = JSONEncoder()
        e.outputFormatting = [.withoutEscapingSlashes]
        return e
    }()

    static func response(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
        let data = try encoder.encode(value)
        return Response(status: status, headers: [.contentType: "application/json"],
                        body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }

    static func error(_ error: APIError) -> Response {
        Response(status: error.status, headers: [.contentType: "application/json"],
                 body: ResponseBody(byteBuffer: ByteBuffer(bytes: error.body)))
    }

    /// One server-sent event line.
    static func event(_ value: some Encodable) -> ByteBuffer {
        var bytes = Array("data: ".utf8)
        bytes += (try? encoder.encode(value)).map { Array($0) } ?? Array("{}".utf8)
        bytes += Array("\n\n".utf8)
        return ByteBuffer(bytes: bytes)
    }

    static let done = ByteBuffer(string: "data: [DONE]\n\n")

    /// A server-sent-event response whose events `produce` writes. An error it throws once the
    /// headers are gone is reported as an event (vLLM's way, unless the client is gone too); either
    /// way the requests still running are aborted and the stream ends with `data: [DONE]`.
    static func eventStream(aborting inFlight: InFlightRequests,
                            _ produce: @escaping @Sendable (inout any ResponseBodyWriter) async throws -> Void) -> Response {
        let body = ResponseBody { writer in
            do {
                try await produce(&writer)
            } catch {
                inFlight.abortRemaining()
                try? await writer.write(JSON.event(APIError.Body.from(APIError.from(error))))
            }
            inFlight.abortRemaining()
            try? await writer.write(done)
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"], body: body)
    }
}

extension Request {
    /// The body decoded as `T`; 413 past `limit` bytes, 400 for malformed JSON or bad fields.
    mutating func decodeJSON<T: Decodable>(_ type: T.Type, limit: Int) async throws -> T {
        if let length = headers[.contentLength].flatMap(Int.init), length > limit {
            throw APIError(.contentTooLarge, "Request body of \(length) bytes exceeds the limit of \(limit) bytes.")
        }
        let buffer: ByteBuffer
        do {
            buffer = try await body.collect(upTo: limit)
        } catch let error as HTTPError where error.status == .contentTooLarge {
            throw APIError(.contentTooLarge, "Request body exceeds the limit of \(limit) bytes.")
        }
        let data = Data(buffer.readableBytesView)
        if data.isEmpty { throw APIError.badRequest("The request body is empty; expected a JSON object.") }
        do {
            return try JSONDecoder().decode(T.self, from: data)
        } catch let error as DecodingError {
            throw APIError.fromDecoding(error)
        }
    }
}

/// Turns every error a route throws into OpenAI's error shape, and checks the API key on `/v1`.
struct OpenAIErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    let apiKeys: [String]

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if !apiKeys.isEmpty, request.uri.path.hasPrefix("/v1") {
            let header = request.headers[.authorization] ?? ""
            let token = header.hasPrefix("Bearer ") ? String(header.dropFirst(7)) : ""
            if !apiKeys.contains(token) {
                return JSON.error(APIError(.unauthorized, header.isEmpty ? "Missing API key: pass it as 'Authorization: Bearer <key>'." : "Incorrect API key provided."))
            }
        }
        do {
            return try await next(request, context)
        } catch let error as HTTPError {
            let message: String = switch error.status {
            case .notFound: "Not found: \(request.method) \(request.uri.path)"
            case .methodNotAllowed: "Method \(request.method) is not allowed on \(request.uri.path)"
            case .contentTooLarge: "Request body too large."
            default: error.body ?? error.status.reasonPhrase
            }
            return JSON.error(APIError(error.status, message))
        } catch {
            let apiError = APIError.from(error)
            if apiError.status.code >= 500 { context.logger.error("\(request.method) \(request.uri.path): \(error)") }
            return JSON.error(apiError)
        }
    }
}
