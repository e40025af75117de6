import Engine
import Testing

/// Stop strings on streamed text: where the output ends, what is streamed, what is held back.
struct StopCheckerTests {
    /// Feeds `deltas`; returns the streamed pieces, the final text and the stop reason.
    func run(_ stop: [String], _ deltas: [String], include: Bool = false, finish: Bool = true)
        -> (streamed: [String], text: String, reason: String?) {
        var checker = StopChecker(stop: stop, includeStopStrInOutput: include)
        var streamed: [String] = []
        for d in deltas {
            let u = checker.append(d)
            streamed.append(u.delta)
            if u.stopReason != nil { break }
        }
        if finish, !checker.isStopped { streamed.append(checker.finish()) }
        return (streamed, checker.text, checker.stopReason)
    }

    @Test func stopStringSpanningTwoDeltas() {
        let r = run(["STOP"], ["abc ST", "OP more"])
        #expect(r.streamed == ["abc ", ""])
        #expect(r.text == "abc " && r.reason == "STOP")
    }

    @Test func includeStopStringInOutput() {
        let r = run(["STOP"], ["abc ST", "OP more"], include: true)
        #expect(r.streamed == ["abc ST", "OP"])
        #expect(r.text == "abc STOP" && r.reason == "STOP")
    }

    @Test func stopAtTheVeryBeginning() {
        #expect(run(["STOP"], ["STOP", "x"]).text == "")
        #expect(run(["STOP"], ["STOP", "x"]).streamed == [""])
        #expect(run(["S"], ["S"], include: true).text == "S")
    }

    @Test func heldBackTextIsReleasedWhenNoStopFollows() {
        let r = run(["STOP"], ["abc ST", "AR"])
        #expect(r.streamed == ["abc ", "STAR", ""])
        #expect(r.text == "abc STAR" && r.reason == nil)
        // Output that ends for another reason releases what was held back.
        let cut = run(["STOP"], ["abc STO"])
        #expect(cut.streamed == ["abc ", "STO"])
    }

    @Test func earliestOccurrenceWins() {
        // Both complete in one delta: the earlier start wins ("abcd" at 0, not "cd" at 2).
        #expect(run(["cd", "abcd"], ["abcd"]).text == "")
        #expect(run(["cd", "abcd"], ["abcd"]).reason == "abcd")
        // Same start: the first in the list.
        #expect(run(["ab", "abc"], ["xabc"]).reason == "ab")
        #expect(run(["x", "y"], ["123y45x"]).text == "123")
    }

    @Test func overlappingCandidates() {
        // "xab" could begin "abcd" (hold "ab") or "bc" (hold "b"): hold the longer.
        var c = StopChecker(stop: ["abcd", "bc"])
        let first = c.append("xab")
        #expect(first.delta == "x" && first.heldBack == 2)
        let second = c.append("c")
        #expect(second.stopReason == "bc" && second.delta == "a")
        #expect(c.text == "xa")
    }

    @Test func repeatedPrefixCharacters() {
        var c = StopChecker(stop: ["aab"])
        #expect(c.append("a").delta == "")
        #expect(c.append("a").delta == "")
        let third = c.append("a")
        #expect(third.delta == "a" && third.heldBack == 2)
        let fourth = c.append("b")
        #expect(fourth.stopReason == "aab" && fourth.delta == "")
        #expect(c.text == "a")
    }

    @Test func unicodeScalars() {
        // An emoji stop string split across deltas.
        let emoji = run(["🙂x"], ["a🙂", "xb"])
        #expect(emoji.streamed == ["a", ""] && emoji.text == "a")
        // CJK text.
        let cjk = run(["。"], ["你好", "世界。再见"])
        #expect(cjk.streamed == ["你好", "世界"] && cjk.text == "你好世界")
        // Scalars, as Python counts characters: "e" matches the base of a decomposed "é"…
        #expect(run(["e"], ["cafe\u{301}"]).text == "caf")
        // …but not a precomposed one.
        #expect(run(["e"], ["caf\u{E9}"]).reason == nil)
    }

    @Test func afterStopNothingMore() {
        var c = StopChecker(stop: ["."])
        _ = c.append("a.b")
        #expect(c.append("more") == StopChecker.Update(delta: "", stopReason: nil, heldBack: 0))
        #expect(c.text == "a" && c.finish() == "")
    }

    @Test func minTokensDefersStopStrings() {
        var c = StopChecker(stop: ["STOP"], minTokens: 2)
        let early = c.append("STOP", numOutputTokens: 1)
        #expect(early.stopReason == nil && early.delta == "STOP")
        let later = c.append("x STOP", numOutputTokens: 3)
        #expect(later.stopReason == "STOP")
        #expect(c.text == "STOPx ")
    }

    @Test func noStopStrings() {
        let r = run([], ["hello", " world"])
        #expect(r.streamed == ["hello", " world", ""] && r.reason == nil)
    }

    @Test func pureFunctionsSearchOnlyTheNewRegion() {
        // A match entirely in old text was already handled: not found again.
        #expect(StopChecker.findStop(text: "STOP abc", newText: "abc", stop: ["STOP"], includeStopStrInOutput: false) == nil)
        let m = StopChecker.findStop(text: "xx STOP", newText: "OP", stop: ["STOP"], includeStopStrInOutput: false)
        #expect(m?.stop == "STOP" && m?.text == "xx ")
        let inc = StopChecker.findStop(text: "xx STOP yy", newText: "OP yy", stop: ["STOP"], includeStopStrInOutput: true)
        #expect(inc?.text == "xx STOP")
        #expect(StopChecker.holdBackLength(text: "hello <|im", stop: ["<|im_end|>", "\n\n"]) == 4)
        #expect(StopChecker.holdBackLength(text: "hello\n", stop: ["<|im_end|>", "\n\n"]) == 1)
        #expect(StopChecker.holdBackLength(text: "hello", stop: ["<|im_end|>"]) == 0)
    }
}
