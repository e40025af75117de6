/// Stop strings for one request, checked on the detokenized text as it grows.
///
/// Text is measured in Unicode scalars (Python's characters, as vLLM counts them), not Swift
/// grapheme clusters, so a stop string "e" matches the "e" of "e\u{301}" as it does in vLLM.
///
/// Each `append(_:)` searches only where a new match can be: the last `delta + longest stop - 1`
/// scalars. The earliest match wins (vLLM takes the first stop string in list order that matches;
/// the earliest is what the streamed text needs), ties going to the earlier string in `stop`.
/// The output ends before the stop string, or after it with `includeStopStrInOutput`, and nothing
/// after it is kept. Until then, trailing text that could be the start of a stop string is held
/// back from streaming, so a stop string never leaks to a client.
public struct StopChecker: Sendable {
    public let stop: [String]
    public let includeStopStrInOutput: Bool
    /// Stop strings are not checked until the output has more than this many tokens (vLLM).
    public let minTokens: Int

    private let stops: [[Unicode.Scalar]]
    private let longest: Int
    private var scalars: [Unicode.Scalar] = []
    private var streamed = 0
    /// The stop string that ended the output, once one did.
    public private(set) var stopReason: String?

    public init(stop: [String], includeStopStrInOutput: Bool = false, minTokens: Int = 0) {
        self.stop = stop
        self.includeStopStrInOutput = includeStopStrInOutput
        self.minTokens = minTokens
        stops = stop.map { Array($0.unicodeScalars) }
        longest = stops.map(\.count).max() ?? 0
    }

    public init(params: SamplingParams) {
        self.init(stop: params.stop, includeStopStrInOutput: params.includeStopStrInOutput, minTokens: params.minTokens)
    }

    /// What one `append` tells the streamer.
    public struct Update: Sendable, Equatable {
        /// New text that is safe to send now.
        public var delta: String
        /// The stop string matched by this append; the request is finished (`finish_reason` stop).
        public var stopReason: String?
        /// Scalars at the end of the text held back because they may begin a stop string.
        public var heldBack: Int
    }

    public var isStopped: Bool { stopReason != nil }
    /// The output text so far, cut at the stop string once matched (held-back text included).
    public var text: String { Self.string(scalars[...]) }

    /// Adds newly detokenized text. `numOutputTokens` is the output length after the tokens that
    /// produced `delta` (stop strings are ignored while it is at most `minTokens`).
    public mutating func append(_ delta: String, numOutputTokens: Int = .max) -> Update {
        guard !isStopped else { return Update(delta: "", stopReason: nil, heldBack: 0) }
        let newCount = delta.unicodeScalars.count
        scalars.append(contentsOf: delta.unicodeScalars)
        if numOutputTokens > minTokens,
           let match = Self.findStop(in: scalars, newCount: newCount, stops: stops,
                                     includeStopStrInOutput: includeStopStrInOutput) {
            scalars.removeSubrange(match.truncateAt...)
            stopReason = stop[match.index]
            let out = Self.string(scalars[min(streamed, scalars.count)...])
            streamed = scalars.count
            return Update(delta: out, stopReason: stopReason, heldBack: 0)
        }
        let hold = includeStopStrInOutput ? 0 : Self.holdBackLength(scalars, stops: stops)
        let end = max(streamed, scalars.count - hold)
        let out = Self.string(scalars[streamed..<end])
        streamed = end
        return Update(delta: out, stopReason: nil, heldBack: scalars.count - end)
    }

    /// The request ended for another reason (EOS, length, abort): releases the held-back text.
    public mutating func finish() -> String {
        let out = Self.string(scalars[min(streamed, scalars.count)...])
        streamed = scalars.count
        return out
    }

    // MARK: - The pure functions behind it

    /// The earliest stop string occurrence that ends in the last `newCount` scalars of `text`:
    /// which stop string (`index`) and where the output is cut (`truncateAt`, a scalar offset).
    public static func findStop(in text: [Unicode.Scalar], newCount: Int, stops: [[Unicode.Scalar]],
                                includeStopStrInOutput: Bool) -> (index: Int, truncateAt: Int)? {
        guard newCount > 0 else { return nil }
        var best: (index: Int, start: Int)?
        for (index, s) in stops.enumerated() where !s.isEmpty && s.count <= text.count {
            // Matches ending in the old text were looked for before.
            let first = max(0, text.count - newCount - s.count + 1)
            var start = first
            while start + s.count <= text.count {
                if let b = best, start >= b.start { break }
                if text[start] == s[0], text[start..<(start + s.count)].elementsEqual(s) {
                    best = (index, start)
                    break
                }
                start += 1
            }
        }
        guard let best else { return nil }
        return (best.index, includeStopStrInOutput ? best.start + stops[best.index].count : best.start)
    }

    /// String form: `text` so far (new text included at its end), `delta` the new text.
    public static func findStop(text: String, newText: String, stop: [String],
                                includeStopStrInOutput: Bool) -> (stop: String, text: String)? {
        let scalars = Array(text.unicodeScalars)
        guard let m = findStop(in: scalars, newCount: newText.unicodeScalars.count,
                               stops: stop.map { Array($0.unicodeScalars) },
                               includeStopStrInOutput: includeStopStrInOutput) else { return nil }
        return (stop[m.index], string(scalars[..<m.truncateAt]))
    }

    /// The longest suffix of `text` that is a proper prefix of some stop string: the scalars that
    /// must not be streamed yet.
    public static func holdBackLength(_ text: [Unicode.Scalar], stops: [[Unicode.Scalar]]) -> Int {
        var best = 0
        for s in stops {
            var k = min(s.count - 1, text.count)
            while k > best {
                if text[(text.count - k)...].elementsEqual(s[..<k]) { best = k; break }
                k -= 1
            }
        }
        return best
    }

    public static func holdBackLength(text: String, stop: [String]) -> Int {
        holdBackLength(Array(text.unicodeScalars), stops: stop.map { Array($0.unicodeScalars) })
    }

    static func string(_ scalars: ArraySlice<Unicode.Scalar>) -> String {
        var view = String.UnicodeScalarView()
        view.append(contentsOf: scalars)
        return String(view)
    }
}
