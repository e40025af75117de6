import Foundation
import Testing
import Templates

struct ChatTemplateTests {
    static let echo = """
        {%- for m in messages %}[{{ m.role }}|{{ m.content if m.content is defined else '<no content>' }}\
        {%- if m.thinking is defined %}|thinking={{ m.thinking }}{% endif %}\
        {%- if m.reasoning_content is defined %}|rc={{ m.reasoning_content }}{% endif %}]{% endfor %}
        {{- '|tools=' ~ (tools is defined) ~ ',' ~ (tools is none) }}
        {{- '|docs=' ~ (documents is none) }}
        {{- '|bos=' ~ (bos_token is defined) ~ '|eos=' ~ (eos_token | default('undef')) }}
        {{- '|think=' ~ enable_thinking | default('unset') }}
        {%- if add_generation_prompt %}|gen{% endif %}
        """

    @Test func variablesAsTransformersPassesThem() throws {
        let t = try ChatTemplate(source: Self.echo)
        let out = try t.render(messages: [["role": "user", "content": "hi"]], addGenerationPrompt: true, eosToken: "</s>")
        #expect(out == "[user|hi]|tools=True,True|docs=True|bos=False|eos=</s>|think=unset|gen")
    }

    @Test func chatTemplateKwargsAreMerged() throws {
        let t = try ChatTemplate(source: Self.echo)
        let out = try t.render(messages: [], tools: [["type": "function"]], bosToken: "<s>",
                               extraContext: ["enable_thinking": false])
        #expect(out == "|tools=True,False|docs=True|bos=True|eos=undef|think=False")
    }

    @Test func nullKeysAreDroppedAndReasoningIsAliased() throws {
        let t = try ChatTemplate(source: Self.echo)
        let messages = try Value(jsonString: """
            [{"role": "assistant", "content": null, "reasoning_content": "r1"},
             {"role": "assistant", "content": "x", "reasoning": "r2"},
             {"role": "assistant", "content": "y", "thinking": "r3", "reasoning_content": null}]
            """)
        guard case .list(let list) = messages else { Issue.record("not a list"); return }
        let out = try t.render(messages: list.items)
        #expect(out == "[assistant|<no content>|thinking=r1|rc=r1][assistant|x|thinking=r2|rc=r2][assistant|y|thinking=r3|rc=r3]|tools=True,True|docs=True|bos=False|eos=undef|think=unset")
    }

    @Test func aliasedMessageKeepsTransformersKeyOrder() throws {
        let m = try Value(jsonString: #"{"role": "assistant", "content": "c", "reasoning_content": "r"}"#)
        let t = try Template("{{ m|tojson }}")
        #expect(try t.render(["m": ChatTemplate.prepare(m)])
                == #"{"thinking": "r", "role": "assistant", "content": "c", "reasoning_content": "r"}"#)
    }

    @Test func namedTemplatesChooseToolUseWhenToolsAreGiven() throws {
        let t = try ChatTemplate(named: ["default": "default:{{ messages|length }}", "tool_use": "tools:{{ tools|length }}"])
        #expect(try t.render(messages: [["role": "user", "content": "a"]]) == "default:1")
        #expect(try t.render(messages: [], tools: [["type": "function"], ["type": "function"]]) == "tools:2")
    }

    @Test func namedTemplatesWithoutToolUseFallBackToDefault() throws {
        let t = try ChatTemplate(named: ["default": "d{{ tools is none }}"])
        #expect(try t.render(messages: [], tools: []) == "dFalse")
        #expect(throws: TemplateError.self) { _ = try ChatTemplate(named: ["a": "x", "b": "y"]) }
    }

    @Test func rendersFromFoundationJSON() throws {
        let data = Data(#"[{"role": "user", "content": "héllo", "n": 3, "f": 1.5, "ok": true, "z": null}]"#.utf8)
        let decoded = try JSONSerialization.jsonObject(with: data)
        let t = try ChatTemplate(source: "{% for m in messages %}{{ m.content }} {{ m.n + 1 }} {{ m.f }} {{ m.ok }} {{ m.ok is boolean }} {{ m.n is integer }} {{ m.z is defined }}{% endfor %}")
        #expect(try t.render(messagesJSON: decoded) == "héllo 4 1.5 True True True False")
    }

    @Test func malformedTemplateFailsAtInit() {
        #expect(throws: TemplateError.self) { _ = try ChatTemplate(source: "{% for m in messages %}") }
    }

    @Test func strftimeNowUsesThePinnedTime() throws {
        var c = DateComponents()
        (c.year, c.month, c.day, c.hour) = (2025, 1, 15, 12)
        let date = try #require(Calendar(identifier: .gregorian).date(from: c))
        let t = try ChatTemplate(source: "{{ strftime_now('%d %b %Y %H:%M') }}", options: TemplateOptions(now: date))
        #expect(try t.render(messages: []) == "15 Jan 2025 12:00")
    }

    @Test func strftimeNowDefaultsToToday() throws {
        let out = try ChatTemplate(source: "{{ strftime_now('%Y') }}").render(messages: [])
        #expect(Int(out) ?? 0 >= 2025)
    }

    @Test func templateIsReusableAcrossRenders() throws {
        let t = try ChatTemplate(source: "{% set ns = namespace(n=0) %}{% for m in messages %}{% set ns.n = ns.n + 1 %}{% endfor %}{{ ns.n }}")
        #expect(try t.render(messages: [["role": "user"]]) == "1")
        #expect(try t.render(messages: [["role": "user"], ["role": "user"]]) == "2")
    }
}

struct ValueTests {
    @Test func jsonKeepsKeyOrderAndNumberKinds() throws {
        let v = try Value(jsonString: #"{"z": 1, "a": 2.0, "m": [true, null, "\u00e9\ud83d\ude00\n"], "big": 12345678901, "e": 1e3, "neg": -0.5}"#)
        #expect(try Template("{{ v|tojson }}").render(["v": v])
                == #"{"z": 1, "a": 2.0, "m": [true, null, "é😀\n"], "big": 12345678901, "e": 1000.0, "neg": -0.5}"#)
        #expect(try Template("{% for k in v %}{{ k }},{% endfor %}").render(["v": v]) == "z,a,m,big,e,neg,")
    }

    @Test func malformedJSONIsAnError() {
        for text in ["{", "[1,]", "{\"a\" 1}", "tru", "\"unterminated", "[1] x", "{\"a\": \"\\u12\"}", String(repeating: "[", count: 10000)] {
            #expect(throws: TemplateError.self) { _ = try Value(jsonString: text) }
        }
    }

    @Test func subscriptsReadJSON() throws {
        let v = try Value(jsonString: #"{"messages": [{"role": "user"}, {"role": "assistant"}]}"#)
        #expect(v["messages"][-1]["role"].stringValue == "assistant")
        #expect(v["messages"][5].isUndefined)
        #expect(v["nope"]["deeper"].isUndefined)
    }

    @Test func literalsBuildValues() throws {
        let v: Value = ["name": "x", "list": [1, 2.5, true, nil]]
        #expect(v.pythonRepr == "{'name': 'x', 'list': [1, 2.5, True, None]}")
        #expect(Value.string("a").pythonString == "a")
        #expect(Value.float(1).pythonString == "1.0")
        #expect(Value.none.pythonString == "None")
        #expect(Value.undefinedValue.pythonString == "")
    }

    @Test func foundationBooleansAreBooleans() throws {
        let decoded = try JSONSerialization.jsonObject(with: Data(#"[true, 1, 0, false, 2.5, "s"]"#.utf8))
        #expect(Value(json: decoded).pythonRepr == "[True, 1, 0, False, 2.5, 's']")
    }

    @Test func pythonFloatFormatting() {
        let cases: [(Double, String)] = [(1, "1.0"), (0.1, "0.1"), (1e16, "1e+16"), (1e15, "1000000000000000.0"),
                                          (1e-5, "1e-05"), (0.0001, "0.0001"), (-0.0, "-0.0"), (.infinity, "inf"),
                                          (.nan, "nan"), (123456789.123, "123456789.123"), (2.5e-7, "2.5e-07")]
        for (d, s) in cases { #expect(Value.float(d).pythonString == s) }
    }
}
