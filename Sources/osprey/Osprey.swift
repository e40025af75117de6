import ArgumentParser

@main
struct Osprey: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "osprey", abstract: "LLM inference and serving engine")
}
