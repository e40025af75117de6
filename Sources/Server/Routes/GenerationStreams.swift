import Engine
import Foundation
import Synchronization

/// Several requests' output streams read as one, each output tagged with its request's index.
/// Ending the merged stream (a client gone) cancels the readers, which aborts the requests.
func mergeOutputs(_ streams: [AsyncThrowingStream<RequestOutput, Error>]) -> AsyncThrowingStream<(Int, RequestOutput), Error> {
    let (merged, continuation) = AsyncThrowingStream<(Int, RequestOutput), Error>.makeStream()
    let task = Task {
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for (index, stream) in streams.enumerated() {
                    group.addTask { for try await output in stream { continuation.yield((index, output)) } }
                }
                try await group.waitForAll()
            }
            continuation.finish()
        } catch {
            continuation.finish(throwing: error)
        }
    }
    continuation.onTermination = { _ in task.cancel() }
    return merged
}

/// Aborts whichever of a response's requests are still running when it is dropped (the client
/// went away, or writing failed), so their KV blocks are freed at once.
final class InFlightRequests: Sendable {
    private let engine: AsyncLLM
    private let running: Mutex<Set<String>>

    init(engine: AsyncLLM, ids: [String]) {
        self.engine = engine
        running = Mutex(Set(ids))
    }

    func finished(_ id: String) { running.withLock { _ = $0.remove(id) } }

    func abortRemaining() {
        let ids = running.withLock { set -> Set<String> in defer { set = [] }; return set }
        for id in ids { engine.abort(id) }
    }
}
