import ArgumentParser
import Engine
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// `osprey bench serve`: vLLM's serving benchmark against a running server. Random token-id
/// prompts go to `/v1/completions` as streams; every chunk's arrival is timed.
struct BenchServe: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Benchmark a running OpenAI-compatible server (TTFT, TPOT, ITL, end-to-end latency, throughput).")

    @Option(help: "Server host.") var host = "127.0.0.1"
    @Option(help: "Server port.") var port = 8000
    @Option(help: "Completions route.") var endpoint = "/v1/completions"
    @Option(help: "Model name to send (default: the server's first).") var model: String?
    @Option(help: "Requests to send.") var numPrompts = 100
    @Option(help: "Requests per second (inf: all at once); arrivals are Poisson.") var requestRate = "inf"
    @Option(help: "Most requests in flight at once.") var maxConcurrency: Int?
    @Option(help: "Prompt tokens per request.") var randomInputLen = 1024
    @Option(help: "Output tokens per request.") var randomOutputLen = 128
    @Option(help: "Prompt token ids are drawn from [100, this).") var randomVocabLimit = 10000
    @Option(help: "Random seed for prompts and arrivals.") var seed: UInt64 = 0
    @Flag(help: "Keep generating past EOS so every output has --random-output-len tokens.") var ignoreEos = false
    @Option(help: "API key.") var apiKey: String?

    struct Result {
        var ok = false
        var error = ""
        var promptTokens = 0
        var outputTokens = 0
        var ttft = 0.0
        var latency = 0.0
        var itl: [Double] = []
    }

    func run() throws {
        let rate = requestRate == "inf" ? Double.infinity : (Double(requestRate) ?? .infinity)
        var rng = SplitMix64(seed: seed)
        let prompts = (0..<numPrompts).map { _ in (0..<randomInputLen).map { _ in 100 + Int(rng.next() % UInt64(max(1, randomVocabLimit - 100))) } }
        print("Benchmarking \(host):\(port)\(endpoint): \(numPrompts) prompts, input \(randomInputLen), output \(randomOutputLen), "
              + "rate \(requestRate), max concurrency \(maxConcurrency.map(String.init) ?? "unlimited")")
        let slots = DispatchSemaphore(value: maxConcurrency ?? numPrompts)
        let group = DispatchGroup()
        let results = ResultList()
        let start = Date()
        for (i, prompt) in prompts.enumerated() {
            if rate.isFinite, i > 0 {
                let u = Double(rng.next() % 1_000_000 + 1) / 1_000_001
                Thread.sleep(forTimeInterval: -log(u) / rate)
            }
            slots.wait()
            group.enter()
            let body = requestBody(prompt)
            Thread.detachNewThread {
                let result = self.send(body: body, promptTokens: prompt.count)
                results.append(result)
                slots.signal()
                group.leave()
            }
        }
        group.wait()
        report(results.all, duration: Date().timeIntervalSince(start))
    }

    func requestBody(_ prompt: [Int]) -> Data {
        var json: [String: Any] = ["prompt": prompt, "max_tokens": randomOutputLen, "stream": true, "temperature": 0,
                                   "ignore_eos": ignoreEos, "stream_options": ["include_usage": true]]
        if let model { json["model"] = model }
        return try! JSONSerialization.data(withJSONObject: json)
    }

    /// One streamed request over a plain socket (HTTP/1.1, chunked SSE body).
    func send(body: Data, promptTokens: Int) -> Result {
        var result = Result(promptTokens: promptTokens)
        let start = Date()
        guard let socket = HTTPSocket(host: host, port: port) else { result.error = "connect failed"; return result }
        defer { socket.close() }
        var head = "POST \(endpoint) HTTP/1.1\r\nHost: \(host):\(port)\r\nContent-Type: application/json\r\n"
        head += "Content-Length: \(body.count)\r\nConnection: close\r\n"
        if let apiKey { head += "Authorization: Bearer \(apiKey)\r\n" }
        head += "\r\n"
        guard socket.write(Data(head.utf8) + body) else { result.error = "write failed"; return result }
        var buffer = Data()
        var headerDone = false
        var last: Date?
        var chunks = 0
        while let data = socket.read() {
            buffer.append(data)
            if !headerDone {
                guard let range = buffer.range(of: Data("\r\n\r\n".utf8)) else { continue }
                let header = String(decoding: buffer[..<range.lowerBound], as: UTF8.self)
                if !header.hasPrefix("HTTP/1.1 200") { result.error = header.components(separatedBy: "\r\n").first ?? "bad status"; return result }
                buffer = Data(buffer[range.upperBound...])
                headerDone = true
            }
            // Events are "data: …\n\n"; chunked framing lines never start with "data: ".
            while let end = buffer.range(of: Data("\n\n".utf8)) {
                let event = String(decoding: buffer[..<end.lowerBound], as: UTF8.self)
                buffer = Data(buffer[end.upperBound...])
                for line in event.split(whereSeparator: \.isNewline) where line.hasPrefix("data: ") {
                    let payload = line.dropFirst(6)
                    if payload == "[DONE]" { result.ok = result.error.isEmpty; result.latency = Date().timeIntervalSince(start); return result }
                    guard let object = try? JSONSerialization.jsonObject(with: Data(payload.utf8)) as? [String: Any] else { continue }
                    if let error = object["error"] as? [String: Any] { result.error = "\(error["message"] ?? "error")"; continue }
                    if let usage = object["usage"] as? [String: Any], let n = usage["completion_tokens"] as? Int { result.outputTokens = n }
                    guard let choices = object["choices"] as? [[String: Any]], let text = choices.first?["text"] as? String, !text.isEmpty else { continue }
                    let now = Date()
                    if chunks == 0 { result.ttft = now.timeIntervalSince(start) } else if let last { result.itl.append(now.timeIntervalSince(last)) }
                    last = now
                    chunks += 1
                }
            }
        }
        result.error = result.error.isEmpty ? "connection closed before [DONE]" : result.error
        return result
    }

    func report(_ results: [Result], duration: Double) {
        let ok = results.filter(\.ok)
        let failed = results.count - ok.count
        if let firstError = results.first(where: { !$0.ok })?.error { print("First failure: \(firstError)") }
        let input = ok.reduce(0) { $0 + $1.promptTokens }
        let output = ok.reduce(0) { $0 + $1.outputTokens }
        let tpot = ok.filter { $0.outputTokens > 1 }.map { ($0.latency - $0.ttft) / Double($0.outputTokens - 1) }
        func line(_ label: String, _ value: String) { print(label.padding(toLength: 40, withPad: " ", startingAt: 0) + value) }
        func section(_ title: String, _ name: String, _ values: [Double]) {
            let pad = max(0, 50 - title.count) / 2
            print(String(repeating: "-", count: pad) + title + String(repeating: "-", count: 50 - title.count - pad))
            let ms = values.map { $0 * 1000 }.sorted()
            line("Mean \(name) (ms):", String(format: "%.2f", ms.isEmpty ? 0 : ms.reduce(0, +) / Double(ms.count)))
            line("Median \(name) (ms):", String(format: "%.2f", percentile(ms, 50)))
            line("P90 \(name) (ms):", String(format: "%.2f", percentile(ms, 90)))
            line("P99 \(name) (ms):", String(format: "%.2f", percentile(ms, 99)))
        }
        print("============ Serving Benchmark Result ============")
        line("Successful requests:", "\(ok.count)")
        line("Failed requests:", "\(failed)")
        line("Maximum request concurrency:", maxConcurrency.map(String.init) ?? "unlimited")
        line("Benchmark duration (s):", String(format: "%.2f", duration))
        line("Total input tokens:", "\(input)")
        line("Total generated tokens:", "\(output)")
        line("Request throughput (req/s):", String(format: "%.2f", Double(ok.count) / duration))
        line("Output token throughput (tok/s):", String(format: "%.2f", Double(output) / duration))
        line("Total Token throughput (tok/s):", String(format: "%.2f", Double(input + output) / duration))
        section("Time to First Token", "TTFT", ok.map(\.ttft))
        section("Time per Output Token (excl. 1st token)", "TPOT", tpot)
        section("Inter-token Latency", "ITL", ok.flatMap(\.itl))
        section("End-to-end Latency", "E2EL", ok.map(\.latency))
        print(String(repeating: "=", count: 50))
    }

    func percentile(_ sorted: [Double], _ p: Double) -> Double {
        guard !sorted.isEmpty else { return 0 }
        let rank = p / 100 * Double(sorted.count - 1)
        let lo = Int(rank.rounded(.down)), hi = Int(rank.rounded(.up))
        return sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - Double(lo))
    }
}

/// Results gathered from the request threads.
final class ResultList: @unchecked Sendable {
    private let lock = NSLock()
    private var results: [BenchServe.Result] = []
    func append(_ result: BenchServe.Result) { lock.lock(); results.append(result); lock.unlock() }
    var all: [BenchServe.Result] { lock.lock(); defer { lock.unlock() }; return results }
}

/// A blocking TCP connection (the benchmark runs one thread per request).
final class HTTPSocket {
    private let fd: Int32

    init?(host: String, port: Int) {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var info: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &info) == 0, let first = info else { return nil }
        defer { freeaddrinfo(info) }
        let fd = socket(first.pointee.ai_family, first.pointee.ai_socktype, first.pointee.ai_protocol)
        guard fd >= 0 else { return nil }
        guard connect(fd, first.pointee.ai_addr, first.pointee.ai_addrlen) == 0 else { Glibc.close(fd); return nil }
        self.fd = fd
    }

    func write(_ data: Data) -> Bool {
        data.withUnsafeBytes { raw in
            var sent = 0
            while sent < raw.count {
                let n = Glibc.send(fd, raw.baseAddress! + sent, raw.count - sent, Int32(MSG_NOSIGNAL))
                if n <= 0 { return false }
                sent += n
            }
            return true
        }
    }

    func read() -> Data? {
        var buffer = [UInt8](repeating: 0, count: 65536)
        let n = recv(fd, &buffer, buffer.count, 0)
        return n > 0 ? Data(buffer[..<n]) : nil
    }

    func close() { Glibc.close(fd) }
}
