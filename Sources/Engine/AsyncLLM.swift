import Foundation
import Synchronization

/// The engine behind a server: one thread owns the `LLMEngine` and steps it while there is work;
/// callers submit requests and read an `AsyncThrowingStream` of outputs each. Cancelling the
/// consuming task aborts the request. Nothing a request does can stop the loop: a failed request
/// finishes its own stream with the error. With async output processing a step is in flight while
/// outputs are streamed and commands run; an abort then reaches the core before that step
/// finishes, and the step drops the aborted sequences' results.
public final class AsyncLLM: Sendable {
    private enum Command {
        case add(id: String, prompt: PromptInput, params: SamplingParams, kind: OutputKind, arrival: Double,
                 continuation: AsyncThrowingStream<RequestOutput, Error>.Continuation)
        case abort(id: String)
    }

    private struct Shared {
        var commands: [Command] = []
        var shuttingDown = false
        var stats: EngineStats?
    }

    public let loaded: LoadedModel
    public let maxModelLen: Int
    public let kvCacheTokens: Int
    /// `EngineCore.memorySummary` of the engine this runs.
    public let memorySummary: String
    private let shared = Mutex(Shared())
    private let wakeUp = NSCondition()
    private let stopped = DispatchSemaphore(value: 0)
    /// Per-step observer (metrics, logging); called on the engine thread.
    private let onStep: (@Sendable (EngineStats, [RequestOutput], Double) -> Void)?

    public init(loaded: LoadedModel, config: EngineConfig = EngineConfig(),
                onStep: (@Sendable (EngineStats, [RequestOutput], Double) -> Void)? = nil) throws {
        let engine = try LLMEngine(loaded: loaded, config: config)
        self.loaded = loaded
        self.maxModelLen = engine.maxModelLen
        self.kvCacheTokens = engine.core.kvCacheTokens
        self.memorySummary = engine.core.memorySummary(weightBytes: loaded.weightBytes)
        self.onStep = onStep
        let box = UncheckedBox(engine)
        let thread = Thread { [self] in self.loop(box.value) }
        thread.name = "osprey-engine"
        thread.stackSize = 8 << 20
        thread.start()
    }

    /// Latest statistics (updated after every step).
    public var stats: EngineStats? { shared.withLock { $0.stats } }

    /// Submits a request; the stream yields outputs per `kind` and ends when the request finishes.
    /// Invalid requests end the stream with the error before any output.
    public func generate(_ prompt: PromptInput, params: SamplingParams, requestId: String = UUID().uuidString,
                         kind: OutputKind = .delta) -> AsyncThrowingStream<RequestOutput, Error> {
        let (stream, continuation) = AsyncThrowingStream<RequestOutput, Error>.makeStream()
        continuation.onTermination = { [weak self] termination in
            if case .cancelled = termination { self?.abort(requestId) }
        }
        submit(.add(id: requestId, prompt: prompt, params: params, kind: kind, arrival: monotonicSeconds(),
                    continuation: continuation))
        return stream
    }

    public func abort(_ requestId: String) { submit(.abort(id: requestId)) }

    /// Stops taking requests, lets in-flight ones finish, then ends the loop.
    public func shutdown() async {
        shared.withLock { $0.shuttingDown = true }
        wake()
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            DispatchQueue.global().async { self.stopped.wait(); c.resume() }
        }
    }

    private func submit(_ command: Command) {
        shared.withLock { $0.commands.append(command) }
        wake()
    }

    private func wake() {
        wakeUp.lock()
        wakeUp.signal()
        wakeUp.unlock()
    }

    private func loop(_ engine: LLMEngine) {
        // The backend was made on another thread; a failure here surfaces as each step's error.
        try? engine.core.model.backend.attachToCurrentThread()
        var statsLogger = StatsLogger()
        var streams: [String: AsyncThrowingStream<RequestOutput, Error>.Continuation] = [:]
        while true {
            let (commands, shuttingDown) = shared.withLock { s -> ([Command], Bool) in
                defer { s.commands = [] }
                return (s.commands, s.shuttingDown)
            }
            for command in commands {
                switch command {
                case .add(let id, let prompt, let params, let kind, let arrival, let continuation):
                    if shuttingDown {
                        continuation.finish(throwing: EngineError.invalidParameter("the server is shutting down"))
                        continue
                    }
                    do {
                        try engine.addRequest(id, prompt: prompt, params: params, outputKind: kind, arrivalTime: arrival)
                        streams[id] = continuation
                    } catch {
                        continuation.finish(throwing: error)
                    }
                case .abort(let id):
                    engine.abortRequest(id)
                    streams.removeValue(forKey: id)?.finish()
                }
            }
            if !engine.hasUnfinishedRequests {
                // Publish the idle state too (aborts free blocks without a step).
                let stats = engine.stats
                shared.withLock { $0.stats = stats }
                if !commands.isEmpty { onStep?(stats, [], 0) }
                if shuttingDown { break }
                wakeUp.lock()
                if shared.withLock({ $0.commands.isEmpty && !$0.shuttingDown }) { _ = wakeUp.wait(until: Date() + 1) }
                wakeUp.unlock()
                continue
            }
            let start = monotonicSeconds()
            do {
                let outputs = try engine.step()
                for output in outputs {
                    streams[output.requestId]?.yield(output)
                    if output.finished { streams.removeValue(forKey: output.requestId)?.finish() }
                }
                let stats = engine.stats
                shared.withLock { $0.stats = stats }
                onStep?(stats, outputs, monotonicSeconds() - start)
                if let line = statsLogger.line(stats) { log(line) }
            } catch {
                // A failed step (a backend error) fails the requests in flight, not the server.
                for (id, continuation) in streams {
                    engine.abortRequest(id)
                    continuation.finish(throwing: error)
                }
                streams = [:]
            }
        }
        stopped.signal()
    }
}

/// Engine log lines go to stderr with a timestamp, as vLLM's logger prints them.
func log(_ message: String) {
    let stamp = Date().formatted(.iso8601.year().month().day().time(includingFractionalSeconds: false))
    FileHandle.standardError.write(Data("INFO \(stamp) [engine] \(message)\n".utf8))
}

/// Hands a non-Sendable value to the one thread that will own it.
struct UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
