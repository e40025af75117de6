import Foundation
import Testing
import Templates

/// Renders every case of `Fixtures/manifest.json` (real published chat templates over a set of
/// conversations, expected output from transformers + jinja2) and compares byte for byte.
struct ConformanceTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

    struct Case: CustomTestStringConvertible, Sendable {
        var name: String
        var manifest: Value
        var testDescription: String { name }
    }

    static func loadJSON(_ path: String) throws -> Value {
        try Value(jsonData: try Data(contentsOf: fixtures.appendingPathComponent(path)))
    }

    static let cases: [Case] = {
        guard let manifest = try? loadJSON("manifest.json"), case .dict(let m) = manifest,
              case .list(let cases)? = m["cases"] else { return [] }
        return cases.items.map { Case(name: $0["name"].pythonString, manifest: $0) }
    }()

    /// The pinned `strftime_now` time of the fixtures: 2025-01-15 12:00:00 local time.
    static let pinnedNow: Date = {
        var c = DateComponents()
        (c.year, c.month, c.day, c.hour, c.minute, c.second) = (2025, 1, 15, 12, 0, 0)
        return Calendar(identifier: .gregorian).date(from: c) ?? Date()
    }()

    @Test func manifestIsPresent() {
        #expect(Self.cases.count >= 600)
    }

    @Test(arguments: cases)
    func renders(_ c: Case) throws {
        let m = c.manifest
        let source = try String(contentsOf: Self.fixtures.appendingPathComponent(m["template"].pythonString), encoding: .utf8)
        let conversations = try Self.loadJSON("conversations.json")
        guard case .list(let all) = conversations["conversations"],
              let conversation = all.items.first(where: { $0["id"].pythonString == m["conversation"].pythonString }),
              case .list(let messages) = conversation["messages"] else {
            Issue.record("conversation \(m["conversation"]) not found")
            return
        }
        var tools: [Value]? = nil
        if m["tools"].truthy, case .list(let t) = conversations["tools"] { tools = t.items }
        var extra: [String: Value] = [:]
        if case .dict(let kwargs) = m["kwargs"] {
            for (k, v) in kwargs.pairs { extra[k.pythonString] = v }
        }
        let template = try ChatTemplate(source: source, options: TemplateOptions(now: Self.pinnedNow))
        let result = Result {
            try template.render(messages: messages.items, tools: tools, addGenerationPrompt: m["add_generation_prompt"].truthy,
                                bosToken: m["bos_token"].stringValue, eosToken: m["eos_token"].stringValue,
                                extraContext: extra)
        }
        if case .string(let expectedPath) = m["expected"] {
            let expected = try String(contentsOf: Self.fixtures.appendingPathComponent(expectedPath), encoding: .utf8)
            let got = try result.get()
            #expect(got == expected, "\(c.name): first difference at \(firstDifference(got, expected))")
        } else {
            switch result {
            case .success(let s):
                Issue.record("\(c.name) rendered \(s.prefix(200)) but transformers fails with \(m["expected_error"])")
            case .failure(let e):
                if m["error_kind"].stringValue == "raise_exception" {
                    let err = try #require(e as? TemplateError)
                    #expect(err.kind == .raised)
                    #expect(err.message == m["expected_error"].pythonString)
                }
            }
        }
    }

    func firstDifference(_ a: String, _ b: String) -> String {
        let x = Array(a.unicodeScalars), y = Array(b.unicodeScalars)
        var i = 0
        while i < x.count, i < y.count, x[i] == y[i] { i += 1 }
        let ctx = { (s: [Unicode.Scalar]) in String(String.UnicodeScalarView(s[max(0, i - 40)..<min(s.count, i + 40)])) }
        return "scalar \(i): got …\(ctx(x).debugDescription)… expected …\(ctx(y).debugDescription)…"
    }
}
