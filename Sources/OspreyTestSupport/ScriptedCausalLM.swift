import CPUBackend
import Foundation
import Models
import Synchronization
import Tensors

/// A `CausalLM` that "generates" a fixed token sequence: the logits of a sequence's n-th output
/// step put all the mass on `script[n]` (on the last scripted token once the script runs out), so
/// greedy decoding reproduces the script exactly. Route tests use it to make the real engine and
/// server emit a chosen text, token by token, with a real tokenizer and chat template.
///
/// The runner only hands the model positions, so the prompt length is learnt per sequence: a
/// sequence whose rows start at position 0 is new, and its first sampled row is the last prompt
/// token. Sequences are told apart by their first KV block, which is theirs alone only without
/// prefix caching: turn it off (`EngineConfig.enablePrefixCaching = false`). A prompt must be
/// prefilled in one step, and a sequence never preempted (a recompute starts again at position
/// 0): short prompts and enough KV blocks.
public final class ScriptedCausalLM: CausalLM {
    public let config: ModelConfig
    public let backend: any Backend
    public let script: [Int]
    /// First KV block of a sequence → its prompt length (-1 until its first sampled row).
    private let promptLengths = Mutex<[Int32: Int]>([:])

    public init(script: [Int], config: ModelConfig, backend: any Backend = CPUBackend(threads: 1)) {
        precondition(!script.isEmpty, "a script needs at least one token")
        self.script = script
        self.config = config
        self.backend = backend
    }

    public func forward(tokenIds: Tensor, metadata m: AttentionMetadata, kvCache: [KVCacheLayer],
                        logitsIndices: Tensor) throws -> Tensor {
        let rows = try backend.download(logitsIndices).map { Int($0) }
        let vocab = config.vocabSize
        var logits = [Float](repeating: 0, count: rows.count * vocab)
        try promptLengths.withLock { lengths in
            func firstBlock(_ seq: Int) -> Int32 { m.blockTables[seq * m.maxBlocksPerSeq] }
            for seq in 0..<m.numSeqs where m.positions[Int(m.queryStart[seq])] == 0 {
                lengths[firstBlock(seq)] = -1
            }
            for (r, row) in rows.enumerated() {
                let seq = (0..<m.numSeqs).last { Int(m.queryStart[$0]) <= row }!
                let position = Int(m.positions[row])
                guard var promptLength = lengths[firstBlock(seq)] else {
                    throw BackendError.failure("scripted model: a sequence it did not see from position 0 (turn prefix caching off)")
                }
                // Only a sequence's last scheduled row is sampled; a row elsewhere is the runner's
                // placeholder for a step of prefill chunks, whose logits it throws away.
                if promptLength < 0 && row == Int(m.queryStart[seq + 1]) - 1 {
                    promptLength = position + 1
                    lengths[firstBlock(seq)] = promptLength
                }
                let step = position + 1 - promptLength
                logits[r * vocab + script[min(step, script.count - 1)]] = 100
            }
        }
        return try backend.upload(.f32(logits, shape: [rows.count, vocab]))
    }
}
