import Foundation

extension Tokenizer {
    /// A stand-in for models that come without tokenizer files (dummy weights from a bare
    /// config.json, for benchmarks): byte-level BPE over the 256 byte symbols with no merges, so
    /// any text round-trips and token ids stay below 256.
    public static func byteLevel() throws -> Tokenizer {
        var vocab: [String: Int] = [:]
        for (b, scalar) in ByteLevelAlphabet.byteToScalar.enumerated() {
            vocab[String(UnicodeScalar(scalar)!)] = b
        }
        let json: [String: Any] = [
            "model": ["type": "BPE", "vocab": vocab, "merges": [String]()],
            "pre_tokenizer": ["type": "ByteLevel", "add_prefix_space": false, "trim_offsets": false, "use_regex": true],
            "decoder": ["type": "ByteLevel", "add_prefix_space": false, "trim_offsets": false, "use_regex": true],
            "added_tokens": [[String: Any]](),
        ]
        return try Tokenizer(tokenizerJSON: JSONSerialization.data(withJSONObject: json))
    }
}
