import ArgumentParser
import Engine
import Foundation
import Models

/// `osprey tokenize`: token ids of a text, or of a conversation rendered by the chat template.
struct Tokenize: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print the token ids of a text or a chat.")

    @Option(help: "A Hugging Face model directory or a .gguf file (default: SmolLM2-135M-Instruct).") var model: String?
    @Option(help: "Text to tokenize.") var text: String?
    @Option(help: "File whose contents to tokenize.") var textFile: String?
    @Option(help: "JSON file with an OpenAI-style messages list; rendered with the chat template first.") var messages: String?
    @Option(help: "JSON file with an OpenAI-style tools list (with --messages).") var tools: String?
    @Option(help: "A Jinja chat template file overriding the model's.") var chatTemplate: String?
    @Option(help: "JSON object of extra template variables, e.g. '{\"enable_thinking\": false}'.") var chatTemplateKwargs: String?
    @Flag(help: "End the rendered chat with the assistant's turn opening.") var addGenerationPrompt = false
    @Flag(help: "Print the rendered prompt instead of token ids.") var printPrompt = false
    @Flag(help: "Print JSON: {\"tokens\": [...], \"count\": n}.") var json = false
    @Flag(inversion: .prefixedNo, help: "Add the tokenizer's BOS/EOS (plain text only; chat templates write their own).")
    var specialTokens = true

    func validate() throws {
        let sources = [text != nil, textFile != nil, messages != nil].filter { $0 }.count
        guard sources == 1 else { throw ValidationError("give exactly one of --text, --text-file, --messages") }
    }

    func run() throws {
        let path = try model ?? DefaultModel.path()
        let files = try ModelFiles.load(path: path)
        let template = try chatTemplate.map { try String(contentsOfFile: $0, encoding: .utf8) }
        let formatter = try PromptFormatter(files: files, path: path, chatTemplate: template)
        var prompt: String
        var addSpecial = specialTokens
        if let messages {
            let kwargs = try chatTemplateKwargs.map { try Self.json(Data($0.utf8), "--chat-template-kwargs") as? [String: Any] ?? [:] } ?? [:]
            prompt = try formatter.applyChatTemplate(
                messages: Self.json(Data(contentsOf: URL(fileURLWithPath: messages)), messages),
                tools: tools.map { try Self.json(Data(contentsOf: URL(fileURLWithPath: $0)), $0) },
                addGenerationPrompt: addGenerationPrompt, kwargs: kwargs)
            addSpecial = false
        } else if let textFile {
            prompt = try String(contentsOfFile: textFile, encoding: .utf8)
        } else {
            prompt = text ?? ""
        }
        if printPrompt {
            print(prompt, terminator: "")
            return
        }
        let ids = formatter.tokenizer.encode(prompt, addSpecialTokens: addSpecial)
        if json {
            let data = try JSONSerialization.data(withJSONObject: ["tokens": ids, "count": ids.count], options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        } else {
            print(ids.map(String.init).joined(separator: " "))
        }
    }

    static func json(_ data: Data, _ origin: String) throws -> Any {
        do { return try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed]) }
        catch { throw ValidationError("\(origin) is not valid JSON: \(error.localizedDescription)") }
    }
}
