import ArgumentParser
import Foundation
import Tokenizers

/// `osprey bench tokenizer`: encoding speed on one thread, over the whole text at once and line by line.
struct BenchTokenizer: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenizer", abstract: "Measure tokenizer encode/decode speed (MB/s) on one thread")

    @Option(help: "Path to tokenizer.json (tokenizer_config.json next to it is read too)")
    var tokenizer: String

    @Option(name: .customLong("text-file"), help: "UTF-8 text to encode")
    var textFile: String

    @Option(help: "Timed repetitions of each measurement (the best is reported)")
    var repeats: Int = 3

    func run() throws {
        let url = URL(fileURLWithPath: tokenizer)
        let loadStart = Date()
        let tok: Tokenizer
        if url.lastPathComponent == "tokenizer.json" {
            tok = try Tokenizer(directory: url.deletingLastPathComponent())
        } else {
            tok = try Tokenizer(tokenizerJSON: Data(contentsOf: url))
        }
        let loadSeconds = Date().timeIntervalSince(loadStart)
        let text = try String(contentsOfFile: textFile, encoding: .utf8)
        let megabytes = Double(text.utf8.count) / 1_000_000
        let lines = text.utf8.split(separator: 0x0A, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
        print(String(format: "tokenizer: %@ (vocab %d, loaded in %.2f s)", tokenizer, tok.vocabSize, loadSeconds))
        print(String(format: "text: %.2f MB, %d lines", megabytes, lines.count))

        func best(_ body: () -> Int) -> (seconds: Double, tokens: Int) {
            var bestTime = Double.infinity
            var tokens = 0
            for _ in 0..<max(repeats, 1) {
                let t0 = DispatchTime.now().uptimeNanoseconds
                tokens = body()
                let dt = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
                bestTime = min(bestTime, dt)
            }
            return (bestTime, tokens)
        }

        // The first pass also fills the word cache, as a long-running server's would be.
        let whole = best { tok.encode(text, addSpecialTokens: false).count }
        print(String(format: "encode whole text:  %7.2f MB/s  (%d tokens, %.3f s)", megabytes / whole.seconds, whole.tokens, whole.seconds))
        let perLine = best { lines.reduce(0) { $0 + tok.encode($1, addSpecialTokens: false).count } }
        print(String(format: "encode line by line: %7.2f MB/s  (%d tokens, %.3f s)", megabytes / perLine.seconds, perLine.tokens, perLine.seconds))
        let ids = tok.encode(text, addSpecialTokens: false)
        let dec = best { tok.decode(ids).utf8.count }
        print(String(format: "decode:              %7.2f MB/s  (%.3f s)", megabytes / dec.seconds, dec.seconds))
        var detok = IncrementalDetokenizer(tokenizer: tok)
        let streamSlice = Array(ids.prefix(20_000))
        let t0 = DispatchTime.now().uptimeNanoseconds
        var streamed = 0
        for id in streamSlice { streamed += detok.append(id).utf8.count }
        streamed += detok.flush().utf8.count
        let dt = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
        print(String(format: "incremental detokenize: %.2f µs/token over %d tokens", dt / Double(max(streamSlice.count, 1)) * 1e6, streamSlice.count))
    }
}
