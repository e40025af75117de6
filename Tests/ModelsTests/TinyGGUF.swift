import Foundation

/// A complete, tiny GGUF model written by hand: 1 layer, hidden 8, 2 query heads and 1 kv head of
/// dim 4, vocab 4. Tensor values are their row-major element index plus 100 × (tensor number), so any
/// reordering is visible. Every tensor is F32 unless `types` overrides it (with raw zero bytes).
struct TinyGGUF {
    var architecture = "llama"
    var alignment: Int? = nil
    var types: [String: (type: UInt32, bytesPerRow: Int)] = [:]
    var withOutput = false
    var withQBias = false
    /// Shapes to use instead of the defaults (e.g. whole blocks for a quantized type).
    var shapes: [String: [Int]] = [:]
    /// More tensors (F32) after the standard ones.
    var extraTensors: [(String, [Int])] = []
    /// More u32 metadata, keys without the architecture prefix.
    var extraMetadata: [(String, UInt32)] = []
    /// F32 values to store instead of the index pattern.
    var values: [String: [Float]] = [:]
    var ropeTheta: Float = 10000

    /// (name, row-major shape)
    var tensors: [(String, [Int])] {
        var list: [(String, [Int])] = [
            ("token_embd.weight", [4, 8]),
            ("blk.0.attn_norm.weight", [8]),
            ("blk.0.attn_q.weight", [8, 8]),
            ("blk.0.attn_k.weight", [4, 8]),
            ("blk.0.attn_v.weight", [4, 8]),
            ("blk.0.attn_output.weight", [8, 8]),
            ("blk.0.ffn_norm.weight", [8]),
            ("blk.0.ffn_gate.weight", [16, 8]),
            ("blk.0.ffn_up.weight", [16, 8]),
            ("blk.0.ffn_down.weight", [8, 16]),
            ("output_norm.weight", [8]),
        ]
        if withQBias { list.append(("blk.0.attn_q.bias", [8])) }
        if withOutput { list.append(("output.weight", [4, 8])) }
        list += extraTensors
        return list.map { ($0.0, shapes[$0.0] ?? $0.1) }
    }

    /// The F32 values of tensor number `index`.
    static func values(index: Int, count: Int) -> [Float] {
        (0 ..< count).map { Float($0 + 100 * index) }
    }

    var data: Data { build(shard: 0, of: 1) }

    /// The files of the model split as llama.cpp's gguf-split does: the first holds all metadata,
    /// every one has `split.*` keys, tensors are spread in order.
    func split(into count: Int) -> [Data] {
        (0 ..< count).map { build(shard: $0, of: count) }
    }

    private func build(shard: Int, of shardCount: Int) -> Data {
        var b = GGUFBuilder()
        let arch = architecture
        let all = tensors
        let mine = all.indices.filter { $0 * shardCount / all.count == shard }
        var kvs = shard == 0 ? 10 + extraMetadata.count : 0
        if alignment != nil { kvs += 1 }
        if shardCount > 1 { kvs += 3 }
        b.header(tensors: mine.count, kvs: kvs)
        if shardCount > 1 {
            b.string("split.no"); b.u32(2); b.bytes += [UInt8(shard), 0]
            b.string("split.count"); b.u32(2); b.bytes += [UInt8(shardCount), 0]
            b.string("split.tensors.count"); b.u32(5); b.i32(Int32(all.count))
        }
        if let alignment { b.kvU32("general.alignment", UInt32(alignment)) }
        if shard == 0 {
            b.kvString("general.architecture", arch)
            b.kvU32("\(arch).block_count", 1)
            b.kvU32("\(arch).context_length", 64)
            b.kvU32("\(arch).embedding_length", 8)
            b.kvU32("\(arch).feed_forward_length", 16)
            b.kvU32("\(arch).attention.head_count", 2)
            b.kvU32("\(arch).attention.head_count_kv", 1)
            b.kvF32("\(arch).rope.freq_base", ropeTheta)
            b.kvF32("\(arch).attention.layer_norm_rms_epsilon", 1e-5)
            b.string("tokenizer.ggml.tokens"); b.u32(9); b.u32(8); b.u64(4)
            for t in ["a", "b", "c", "d"] { b.string(t) }
            for (key, value) in extraMetadata { b.kvU32("\(arch).\(key)", value) }
        }
        let align = alignment ?? 32
        let tensors = mine.map { (index: $0, name: all[$0].0, shape: all[$0].1) }

        var blobs: [[UInt8]] = []
        for (index, name, shape) in tensors {
            let count = shape.reduce(1, *)
            var blob: [UInt8]
            if let override = types[name] {
                blob = [UInt8](repeating: 0, count: override.bytesPerRow * (shape.count == 1 ? 1 : shape[0]))
            } else {
                blob = []
                for v in values[name] ?? Self.values(index: index, count: count) { withUnsafeBytes(of: v) { blob.append(contentsOf: $0) } }
            }
            blobs.append(blob)
        }
        var offset = 0
        var offsets: [Int] = []
        for blob in blobs {
            offsets.append(offset)
            offset += blob.count
            offset = (offset + align - 1) / align * align
        }
        for (index, (_, name, shape)) in tensors.enumerated() {
            b.tensorInfo(name, dims: shape.reversed().map(UInt64.init), type: types[name]?.type ?? 0, offset: UInt64(offsets[index]))
        }
        b.pad(to: align)
        let dataStart = b.bytes.count
        for (index, blob) in blobs.enumerated() {
            while b.bytes.count < dataStart + offsets[index] { b.u8(0) }
            b.bytes.append(contentsOf: blob)
        }
        return b.data
    }
}
