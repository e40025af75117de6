/// Adds special tokens around an encoding when `addSpecialTokens` is set (tokenizers' post-processors).
indirect enum PostProcessor: Sendable {
    enum Piece: Sendable {
        case special([Int])
        case sequence
    }
    case template([Piece])
    case wrap(prefix: [Int], suffix: [Int])  // RobertaProcessing / BertProcessing
    case none                                // ByteLevel: only adjusts offsets
    case sequence([PostProcessor])

    static func parse(_ j: JSONNode) throws -> PostProcessor {
        let type = try j.type(of: "post_processor")
        switch type {
        case "TemplateProcessing":
            let specials = try j.required("special_tokens")
            var pieces: [Piece] = []
            for item in try j.requiredArray("single") {
                if let s = item["SpecialToken"] {
                    let name = try s.requiredString("id")
                    guard let tok = specials[name], let ids = tok["ids"]?.elements.compactMap(\.int) else {
                        throw TokenizerError.missingField("\(specials.path).\(name)")
                    }
                    pieces.append(.special(ids))
                } else if item["Sequence"] != nil {
                    pieces.append(.sequence)
                } else {
                    throw TokenizerError.invalidJSON("\(item.path) is neither SpecialToken nor Sequence")
                }
            }
            return .template(pieces)
        case "RobertaProcessing", "BertProcessing":
            func id(_ key: String) throws -> Int {
                let a = try j.required(key).elements
                guard a.count == 2, let id = a[1].int else {
                    throw TokenizerError.invalidJSON("\(j.path).\(key) must be [token, id]")
                }
                return id
            }
            return .wrap(prefix: [try id("cls")], suffix: [try id("sep")])
        case "ByteLevel":
            return .none
        case "Sequence":
            return .sequence(try j.requiredArray("processors").map(parse))
        default:
            throw TokenizerError.unsupported(component: "post_processor", type: type)
        }
    }

    func process(_ ids: [Int], addSpecialTokens: Bool) -> [Int] {
        guard addSpecialTokens else { return ids }
        switch self {
        case .none: return ids
        case .wrap(let prefix, let suffix): return prefix + ids + suffix
        case .sequence(let items): return items.reduce(ids) { $1.process($0, addSpecialTokens: true) }
        case .template(let pieces):
            var out: [Int] = []
            out.reserveCapacity(ids.count + 2)
            for piece in pieces {
                switch piece {
                case .special(let s): out.append(contentsOf: s)
                case .sequence: out.append(contentsOf: ids)
                }
            }
            return out
        }
    }
}
