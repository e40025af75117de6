/// Streams text as tokens arrive, releasing only whole characters: text that ends in an incomplete
/// UTF-8 sequence (decoded as U+FFFD) is held back until the next token completes it.
///
/// Like vLLM's detokenizer it decodes a small window — the tokens already released last time, as context,
/// plus the new ones — and releases what the new tokens add, so decoders that treat the first token
/// specially (Metaspace, Strip) give the same text as a full decode. The concatenation of everything
/// `append` and `flush` return equals `tokenizer.decode(ids)`.
public struct IncrementalDetokenizer: Sendable {
    public let tokenizer: Tokenizer
    public let skipSpecialTokens: Bool
    private var ids: [Int] = []
    private var prefixOffset = 0
    private var readOffset = 0

    /// `context` is the text before the stream, usually the prompt's ids: its last few tokens are decoded
    /// with the new ones (never released) so the first streamed token keeps the leading space a
    /// SentencePiece-style decoder only drops at the start of a text (as vLLM does).
    public init(tokenizer: Tokenizer, skipSpecialTokens: Bool = false, context: [Int] = []) {
        self.tokenizer = tokenizer
        self.skipSpecialTokens = skipSpecialTokens
        let kept = context.suffix(Self.contextTokens)
        ids = Array(kept)
        readOffset = ids.count
    }

    static let contextTokens = 5

    /// Adds one token and returns the text it completes (possibly empty).
    public mutating func append(_ id: Int) -> String {
        ids.append(id)
        return release(final: false)
    }

    /// Adds several tokens; returns the text they complete.
    public mutating func append(contentsOf newIds: [Int]) -> String {
        ids.append(contentsOf: newIds)
        return release(final: false)
    }

    /// Releases whatever is held back (an incomplete character comes out as U+FFFD, as in a full decode).
    public mutating func flush() -> String {
        release(final: true)
    }

    private mutating func release(final: Bool) -> String {
        let prefixText = tokenizer.decode(Array(ids[prefixOffset..<readOffset]), skipSpecialTokens: skipSpecialTokens)
        let newText = tokenizer.decode(Array(ids[prefixOffset...]), skipSpecialTokens: skipSpecialTokens)
        let prefixCount = prefixText.unicodeScalars.count
        guard newText.unicodeScalars.count > prefixCount else {
            if final {
                prefixOffset = readOffset
                readOffset = ids.count
            }
            return ""
        }
        if !final && newText.unicodeScalars.last == "\u{FFFD}" { return "" }
        var delta = String.UnicodeScalarView()
        delta.append(contentsOf: newText.unicodeScalars.dropFirst(prefixCount))
        prefixOffset = readOffset
        readOffset = ids.count
        return String(delta)
    }
}
