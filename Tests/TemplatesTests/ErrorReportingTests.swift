import Foundation
import Testing
import Templates

/// Errors say where and what, and nothing a template does crashes the process.
struct ErrorReportingTests {
    func error(_ source: String, _ context: [String: Value] = [:]) -> TemplateError? {
        do {
            _ = try Template(source).render(context)
            return nil
        } catch let e as TemplateError {
            return e
        } catch {
            Issue.record("unexpected error type \(error)")
            return nil
        }
    }

    @Test func unexpectedEndTagNamesLineAndColumn() throws {
        let e = try #require(error("line one\n{% if x %}\n  {% endfor %}"))
        #expect(e.kind == .syntax)
        #expect(e.line == 3)
        #expect(e.column == 6)
        #expect(e.description == "line 3, column 6: unexpected 'endfor'")
    }

    @Test func unclosedBlockSaysWhatWasExpected() throws {
        let e = try #require(error("{% for x in xs %}\n{{ x }}"))
        #expect(e.kind == .syntax)
        #expect(e.message.contains("endfor"))
    }

    @Test func unterminatedStringPointsAtItsStart() throws {
        let e = try #require(error("ab\n  {{ 'oops }}"))
        #expect(e.line == 2)
        #expect(e.column == 6)
        #expect(e.message.contains("unterminated string"))
    }

    @Test func runtimeErrorPointsAtTheExpression() throws {
        let e = try #require(error("{% set a = 1 %}\n\n{{ a + 'x' }}"))
        #expect(e.kind == .runtime)
        #expect(e.line == 3)
        #expect(e.column == 6)
        #expect(e.message == "unsupported operand type(s) for +: 'int' and 'str'")
    }

    @Test func undefinedAttributeOfUndefinedNamesTheVariable() throws {
        let e = try #require(error("{{ message.content }}"))
        #expect(e.message == "'message' is undefined")
        #expect(e.column == 11)
    }

    @Test func missingKeyOfMissingKeyNamesTheObject() throws {
        let e = try #require(error("{{ m.a.b }}", ["m": ["x": 1]]))
        #expect(e.message == "'dict object' has no attribute 'a'")
    }

    @Test func raiseExceptionCarriesTheTemplatesMessage() throws {
        let e = try #require(error("{% if messages|length == 0 %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}",
                                   ["messages": []]))
        #expect(e.kind == .raised)
        #expect(e.message == "Conversation roles must alternate user/assistant/user/assistant/...")
    }

    @Test func unsafeListMutationIsRefusedLikeTheImmutableSandbox() throws {
        let e = try #require(error("{% set l = [] %}{{ l.append(1) }}"))
        #expect(e.message == "access to attribute 'append' of 'list' object is unsafe.")
    }

    @Test func mutationAllowedOutsideTheSandbox() throws {
        let t = try Template("{% set l = [1] %}{% set _ = l.append(2) %}{% set d = {} %}{% set _ = d.update({'k': l}) %}{{ d }} {{ l.pop() }}{{ l }}",
                             options: TemplateOptions(immutableSandbox: false))
        #expect(try t.render() == "{'k': [1, 2]} 2[1]")
    }

    @Test func deepNestingIsAnErrorNotACrash() {
        for source in [
            "{{ " + String(repeating: "(", count: 5000) + "1" + String(repeating: ")", count: 5000) + " }}",
            "{{ " + String(repeating: "[", count: 5000) + String(repeating: "]", count: 5000) + " }}",
            String(repeating: "{% if true %}", count: 3000) + String(repeating: "{% endif %}", count: 3000),
            "{{ " + String(repeating: "not ", count: 5000) + "1 }}",
            "{{ " + String(repeating: "-", count: 5000) + "1 }}",
            "{{ 1" + String(repeating: " + 1", count: 20000) + " }}",
        ] {
            #expect(throws: TemplateError.self) { _ = try Template(source).render() }
        }
    }

    @Test func longFlatExpressionsStillWork() throws {
        #expect(try Template("{{ 1" + String(repeating: " + 1", count: 150) + " }}").render() == "151")
    }

    @Test func runawayRecursionIsAnError() {
        #expect(throws: TemplateError.self) {
            _ = try Template("{% macro m(n) %}{{ m(n + 1) }}{% endmacro %}{{ m(0) }}").render()
        }
    }

    @Test func hugeIntegerLiteralIsAnErrorNotATrap() {
        #expect(throws: TemplateError.self) { _ = try Template("{{ 99999999999999999999999 }}").render() }
    }

    @Test func integerOverflowDoesNotTrap() throws {
        #expect(try Template("{{ 9223372036854775807 + 1 > 0 }} {{ 2 ** 70 > 0 }} {{ -(9223372036854775807 - 1) }}").render()
                == "True True -9223372036854775806")
    }

    @Test func selfContainingListPrintsWithoutRecursingForever() throws {
        let t = try Template("{% set l = [] %}{% set _ = l.append(l) %}{{ (l|string)|length > 0 }}",
                             options: TemplateOptions(immutableSandbox: false))
        #expect(try t.render() == "True")
        let j = try Template("{% set l = [] %}{% set _ = l.append(l) %}{{ l|tojson }}", options: TemplateOptions(immutableSandbox: false))
        #expect(throws: TemplateError.self) { _ = try j.render() }
    }

    /// Random byte soup built from template syntax must parse or fail cleanly, never trap.
    @Test func fuzzedTemplatesNeverCrash() {
        let pieces = ["{{", "}}", "{%", "%}", "{#", "#}", "-", "+", "if", "for", "in", "endif", "endfor", "set", "=", "x",
                      "'", "\"", "(", ")", "[", "]", "{", "}", ".", ",", ":", "|", "is", "not", "1", "2.5", " ", "\n",
                      "macro", "endmacro", "raw", "endraw", "call", "endcall", "~", "*", "**", "/", "//", "%", "loop",
                      "else", "elif", "defined", "upper", "tojson", "range", "namespace", "ns.x", "break", "é", "\\"]
        var generator = SeededGenerator(seed: 42)
        for _ in 0..<3000 {
            let n = Int.random(in: 1...25, using: &generator)
            let source = (0..<n).map { _ in pieces.randomElement(using: &generator)! }.joined()
            if let t = try? Template(source) {
                _ = try? t.render(["xs": [1, 2], "x": "s"])
            }
        }
    }
}

/// A small deterministic generator so the fuzz test is reproducible.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
