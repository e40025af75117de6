import Foundation

/// The global functions of jinja2 plus the ones transformers adds for chat templates.
enum Globals {
    static func standard(now: Date? = nil) -> [String: Value] {
        [
            "range": .function(Function("range", range)),
            "dict": .function(Function("dict", dict)),
            "namespace": .function(Function("namespace", namespace)),
            "raise_exception": .function(Function("raise_exception") { a in
                throw TemplateError(kind: .raised, message: a.get(0, "message")?.pythonString ?? "")
            }),
            "strftime_now": .function(Function("strftime_now") { a in
                .string(strftime(a.get(0, "format")?.pythonString ?? "", now ?? Date()))
            }),
            "cycler": .function(Function("cycler", cycler)),
            "joiner": .function(Function("joiner", joiner)),
        ]
    }

    /// jinja2's sandbox refuses ranges longer than this.
    static let maxRange = 100_000

    static func range(_ a: Arguments) throws -> Value {
        let ints = try a.positional.map { v -> Int in
            guard let i = v.intValue else { throw TemplateError(message: "'\(v.typeName)' object cannot be interpreted as an integer") }
            return i
        }
        var start = 0, stop = 0, step = 1
        switch ints.count {
        case 1: stop = ints[0]
        case 2: start = ints[0]; stop = ints[1]
        case 3: start = ints[0]; stop = ints[1]; step = ints[2]
        default: throw TemplateError(message: "range expected 1 to 3 arguments, got \(ints.count)")
        }
        guard step != 0 else { throw TemplateError(message: "range() arg 3 must not be zero") }
        let count = step > 0 ? (stop > start ? (stop - start - 1) / step + 1 : 0) : (start > stop ? (start - stop - 1) / -step + 1 : 0)
        guard count <= maxRange else {
            throw TemplateError(message: "Range too big. The sandbox blocks ranges larger than MAX_RANGE (\(maxRange)).")
        }
        return .list((0..<count).map { .int(start + $0 * step) })
    }

    static func dict(_ a: Arguments) throws -> Value {
        let d = DictStorage()
        if let first = a.positional.first {
            switch first {
            case .dict(let other):
                for (k, v) in other.pairs { d[k] = v }
            default:
                for pair in try Filters.iterate(first) {
                    let kv = try Filters.iterate(pair)
                    guard kv.count == 2 else { throw TemplateError(message: "dictionary update sequence element has wrong length") }
                    d[kv[0]] = kv[1]
                }
            }
        }
        for (k, v) in a.keyword { d[k] = v }
        return .dict(d)
    }

    static func namespace(_ a: Arguments) throws -> Value {
        guard case .dict(let d) = try dict(a) else { return .none }
        for k in d.keys where k.pythonString.hasPrefix("_") {
            throw TemplateError(message: "Chat templates cannot store underscore-prefixed attributes on a namespace, but got \(k.pythonRepr). Please rename the attribute.")
        }
        return .namespace(d)
    }

    static func cycler(_ a: Arguments) throws -> Value {
        let items = a.positional
        let state = DictStorage()
        var pos = 0
        state["reset"] = .function(Function("reset") { _ in pos = 0; return .none })
        state["next"] = .function(Function("next") { _ in
            guard !items.isEmpty else { return .none }
            defer { pos = (pos + 1) % items.count }
            return items[pos]
        })
        return .namespace(state)
    }

    static func joiner(_ a: Arguments) throws -> Value {
        let sep = a.get(0, "sep")?.pythonString ?? ", "
        var used = false
        let state = DictStorage()
        state["__call__"] = .function(Function("joiner") { _ in
            defer { used = true }
            return .string(used ? sep : "")
        })
        return .namespace(state)
    }

    /// C strftime on the local time, as Python's `datetime.now().strftime`.
    static func strftime(_ format: String, _ date: Date) -> String {
        var t = time_t(date.timeIntervalSince1970)
        var tmValue = tm()
        localtime_r(&t, &tmValue)
        var buffer = [Int8](repeating: 0, count: 512)
        let n = Foundation.strftime(&buffer, buffer.count, format, &tmValue)
        return String(decoding: buffer[..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
