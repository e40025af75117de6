/// Where the wall time of engine steps goes, summed since start (seconds). Host phases run while
/// the device idles unless they overlap its work, so their share of the total is what
/// overlapping the host with the device could win back. `collect` includes waiting for the
/// device to finish the step's kernels (sampling and the download synchronise).
///
/// With async output processing (`EngineConfig.asyncOutputProcessing`) `output` runs while the
/// device computes the next step, so it is hidden and `collect` shrinks by about as much. With
/// async scheduling (`EngineConfig.asyncScheduling`) so do `schedule`, `prepare`, `forward` and
/// `sample` of the steps launched ahead (before the step in flight finished).
public struct StepTimings: Sendable {
    public var steps = 0
    /// Steps that replayed a captured decode graph.
    public var graphSteps = 0
    /// Steps launched while the previous one was still in flight (async scheduling).
    public var aheadSteps = 0
    /// Of those, steps whose draws waited for the previous step's tokens on the host (a sequence
    /// with penalties or bad words): only their forward pass went ahead.
    public var deferredDraws = 0
    public var schedule = 0.0
    /// Flattening the batch into inputs and uploading them.
    public var prepare = 0.0
    /// Enqueuing the forward pass (host time; the device runs behind it).
    public var forward = 0.0
    /// Building the device's draws (rows, logit edits) and enqueuing them.
    public var sample = 0.0
    /// Waiting for the draws and bringing results back: mostly waiting for the device.
    public var collect = 0.0
    /// Appending tokens, finishing sequences, registering full blocks in the prefix cache.
    public var update = 0.0
    /// `LLMEngine`'s output processing: detokenizing, stop strings, building `RequestOutput`s.
    public var output = 0.0
    /// Whether `output` ran while the device computed the next step.
    public var outputOverlapsDevice = false
    /// Each collected step's work and time, in order; recorded only when set to an array (a
    /// benchmark's per-step floor), since a server's steps never end.
    public var work: [StepWork]?

    public var total: Double { schedule + prepare + forward + sample + collect + update + output }

    public var summary: String {
        func pct(_ x: Double) -> String { String(format: "%.2f s (%.0f%%)", x, total > 0 ? x / total * 100 : 0) }
        let deferred = deferredDraws > 0 ? ", \(deferredDraws) of them with their draws after" : ""
        return "\(steps) steps (\(graphSteps) graph replays, \(aheadSteps) launched ahead\(deferred)): schedule \(pct(schedule)), "
            + "prepare \(pct(prepare)), enqueue forward \(pct(forward)), enqueue draws \(pct(sample)), wait \(pct(collect)), "
            + "update \(pct(update))"
            + (output > 0 ? ", output \(pct(output))\(outputOverlapsDevice ? " overlapping the device" : "")" : "")
    }
}

/// What one step computed and how long it took, for a benchmark to set against its floor.
public struct StepWork: Sendable {
    /// Rows that decode one output token, and tokens of prefill chunks (prompts, and outputs
    /// recomputed after a preemption).
    public var decodeRows = 0, prefillTokens = 0
    /// Keys attention reads: the decode rows' contexts, and for prefill chunks each token's
    /// causal context summed over the chunk.
    public var decodeKeys = 0, prefillKeys = 0
    /// From the later of the step's enqueue and the previous step's collection to its own: with a
    /// step in flight and the device behind, the device's time for this step.
    public var seconds = 0.0
    var enqueued = 0.0

    init(_ entries: [SchedulerOutput.Entry], at enqueued: Double) {
        self.enqueued = enqueued
        for entry in entries {
            let start = entry.seq.numComputedTokens, n = entry.numTokens
            if n == 1 && start >= entry.seq.promptCount {
                decodeRows += 1
                decodeKeys += start + 1
            } else {
                prefillTokens += n
                prefillKeys += n * start + n * (n + 1) / 2
            }
        }
    }
}
