import Foundation

/// What `osprey serve` was told (vLLM's flags that concern the HTTP side).
public struct ServerConfig: Sendable {
    public var host = "0.0.0.0"
    public var port = 8000
    /// The names clients may send as `model`; the first is reported by `/v1/models`.
    public var servedModelNames: [String]
    /// Accepted bearer tokens; empty means no authentication.
    public var apiKeys: [String] = []
    /// Requests with a larger body answer 413.
    public var maxRequestBodyBytes = 32 << 20
    public var reasoningParser: String?
    public var toolCallParser: String?
    public var enableAutoToolChoice = false
    /// Most alternatives a request may ask for (`--max-logprobs`).
    public var maxLogprobs = 20
    public var version = "0.1.0"

    public init(servedModelNames: [String]) {
        self.servedModelNames = servedModelNames
    }
}
