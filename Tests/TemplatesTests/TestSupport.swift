import Foundation
import Testing
import Templates

/// One template rendered over the shared context plus `extra` (JSON), expected to give `expected`
/// exactly, or to fail where `expected` is nil (jinja2 raised).
struct RenderCase: CustomTestStringConvertible, Sendable {
    var source: String
    var extra: String
    var expected: String?

    init(_ source: String, _ extra: String, _ expected: String?) {
        self.source = source
        self.extra = extra
        self.expected = expected
    }

    var testDescription: String { source.debugDescription }

    /// The variables every case sees (the generator's {"xs": [1, 2, 3], "d": {"a": 1, "b": [1, 2]}, "s": "héllo wörld", "n": null, "t": true, "f": false, "users": [{"name": "bob", "age": 30, "admin": false}, {"name": "Alice", "age": 25, "admin": true}, {"name": "carol", "age": 35, "admin": false}], "words": ["b", "A", "c", "a"], "num": 7, "fl": 2.5, "empty": [], "e": {}}, in the same key order).
    static let commonContext = #"{"xs": [1, 2, 3], "d": {"a": 1, "b": [1, 2]}, "s": "héllo wörld", "n": null, "t": true, "f": false, "users": [{"name": "bob", "age": 30, "admin": false}, {"name": "Alice", "age": 25, "admin": true}, {"name": "carol", "age": 35, "admin": false}], "words": ["b", "A", "c", "a"], "num": 7, "fl": 2.5, "empty": [], "e": {}}"#

    static func context(_ extra: String) throws -> [String: Value] {
        var out: [String: Value] = [:]
        for json in [commonContext, extra] where !json.isEmpty {
            guard case .dict(let d) = try Value(jsonString: json) else { continue }
            for (k, v) in d.pairs { out[k.pythonString] = v }
        }
        return out
    }

    func render() throws -> String {
        try Template(source).render(try RenderCase.context(extra))
    }

    func check() throws {
        if let expected {
            let got = try render()
            #expect(got == expected)
        } else {
            #expect(throws: TemplateError.self) { try render() }
        }
    }
}
