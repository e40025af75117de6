import ArgumentParser

@main
struct Osprey: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "osprey",
        abstract: "LLM inference and serving engine (vLLM-compatible command line).",
        subcommands: [Serve.self, Generate.self, Chat.self, Tokenize.self, Bench.self, GPUCheck.self])
}

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Benchmarks; each prints its figure beside its hardware floor.",
        subcommands: [BenchLatency.self, BenchThroughput.self, BenchServe.self, BenchKernels.self, BenchTokenizer.self])
}
