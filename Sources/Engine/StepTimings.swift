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
