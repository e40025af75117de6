import Foundation

/// A model's chat template, applied to a conversation the way transformers' `apply_chat_template` does.
public struct ChatTemplate: Sendable {
    public let source: String
    private let template: Template
    /// The template used when tools are given (a tokenizer's `tool_use` named template), if different.
    private let toolTemplate: Template?

    public init(source: String, options: TemplateOptions = TemplateOptions()) throws {
        self.source = source
        template = try Template(source, options: options)
        toolTemplate = nil
    }

    /// Named templates as `tokenizer_config.json` lists them (`[{name, template}]`): `tool_use` is chosen when
    /// tools are given and exists, otherwise `default`. With a single template, that one is used.
    public init(named templates: [String: String], options: TemplateOptions = TemplateOptions()) throws {
        let main = templates["default"] ?? (templates.count == 1 ? templates.values.first : nil)
        guard let main else {
            throw TemplateError(message: "no 'default' chat template among \(templates.keys.sorted()); pass one explicitly")
        }
        source = main
        template = try Template(main, options: options)
        if let tool = templates["tool_use"], tool != main {
            toolTemplate = try Template(tool, options: options)
        } else {
            toolTemplate = nil
        }
    }

    /// Renders the prompt. `messages`, `tools` and `documents` are the JSON the client sent (as `Value`s);
    /// `extraContext` holds `chat_template_kwargs` such as `enable_thinking`, and the tokenizer's special
    /// tokens beyond BOS and EOS.
    public func render(messages: [Value], tools: [Value]? = nil, documents: [Value]? = nil,
                       addGenerationPrompt: Bool = false, bosToken: String? = nil, eosToken: String? = nil,
                       extraContext: [String: Value] = [:]) throws -> String {
        var context: [String: Value] = [:]
        if let bosToken { context["bos_token"] = .string(bosToken) }
        if let eosToken { context["eos_token"] = .string(eosToken) }
        for (k, v) in extraContext { context[k] = v }
        context["messages"] = .list(messages.map(ChatTemplate.prepare))
        context["tools"] = tools.map { Value.list($0) } ?? Value.none
        context["documents"] = documents.map { Value.list($0) } ?? Value.none
        context["add_generation_prompt"] = .bool(addGenerationPrompt)
        let chosen = (tools != nil ? toolTemplate : nil) ?? template
        return try chosen.render(context)
    }

    /// Convenience for decoded JSON (`JSONSerialization` output or `Value`s).
    public func render(messagesJSON: Any, toolsJSON: Any? = nil, addGenerationPrompt: Bool = false,
                       bosToken: String? = nil, eosToken: String? = nil,
                       extraContext: [String: Any] = [:]) throws -> String {
        guard case .list(let messages) = Value(json: messagesJSON) else {
            throw TemplateError(message: "messages must be a list")
        }
        var tools: [Value]? = nil
        if let toolsJSON, !(toolsJSON is NSNull) {
            guard case .list(let t) = Value(json: toolsJSON) else { throw TemplateError(message: "tools must be a list") }
            tools = t.items
        }
        return try render(messages: messages.items, tools: tools, addGenerationPrompt: addGenerationPrompt,
                          bosToken: bosToken, eosToken: eosToken,
                          extraContext: extraContext.mapValues { Value(json: $0) })
    }

    /// A message as transformers hands it to the template: keys whose value is null dropped (so
    /// `"content": null` reads as undefined), and the reasoning copied to both `reasoning_content` and
    /// `thinking`, from whichever of `reasoning_content`, `thinking`, `reasoning` is set first.
    public static func prepare(_ message: Value) -> Value {
        guard case .dict(let original) = message else { return message }
        let d = DictStorage()
        for (k, v) in original.pairs where !v.isNone { d[k] = v }
        var reasoning: Value? = nil
        for key in ["reasoning_content", "thinking", "reasoning"] {
            if let v = d[key], !v.isNone { reasoning = v; break }
        }
        guard let reasoning else { return .dict(d) }
        let out = DictStorage()
        out["thinking"] = reasoning
        for (k, v) in d.pairs { out[k] = v }
        out["reasoning_content"] = reasoning
        return .dict(out)
    }
}

extension ChatTemplate {
    /// The `messages` of a list of dictionaries as a Value list (for callers holding `[Value]` already).
    public static func messages(_ values: [Value]) -> Value { .list(values) }
}
