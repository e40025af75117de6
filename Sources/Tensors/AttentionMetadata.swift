/// What attention needs to know about one forward pass over a flattened batch of sequences.
///
/// Tokens of all sequences are concatenated: sequence `i` owns token rows
/// `queryStart[i] ..< queryStart[i+1]`, which are its newest tokens; its whole context (cached plus
/// new) is `seqLens[i]` tokens, stored in the paged KV cache through `blockTables` row `i`.
/// Host arrays are kept for CPU use and for building device copies; the `…Tensor` fields are the
/// same values on the backend.
public struct AttentionMetadata: Sendable {
    public let blockSize: Int
    /// Position of each token in its sequence, [numTokens].
    public let positions: [Int32]
    /// KV-cache slot (block * blockSize + offset) each token's K and V are written to, [numTokens].
    public let slotMapping: [Int32]
    /// Prefix sums of new-token counts, [numSeqs + 1].
    public let queryStart: [Int32]
    /// Context length of each sequence including its new tokens, [numSeqs].
    public let seqLens: [Int32]
    /// Block ids per sequence, padded with 0, [numSeqs, maxBlocksPerSeq] row-major.
    public let blockTables: [Int32]
    public let maxBlocksPerSeq: Int

    public let positionsTensor: Tensor
    public let slotMappingTensor: Tensor
    public let queryStartTensor: Tensor
    public let seqLensTensor: Tensor
    public let blockTablesTensor: Tensor

    public var numTokens: Int { positions.count }
    public var numSeqs: Int { seqLens.count }
    public var maxQueryLen: Int { (0..<numSeqs).map { Int(queryStart[$0 + 1] - queryStart[$0]) }.max() ?? 0 }
    public var maxSeqLen: Int { Int(seqLens.max() ?? 0) }

    /// Metadata over existing device tensors (a captured graph's static inputs), whose values may
    /// differ from the host arrays: those then only bound the shapes kernels plan for.
    public init(blockSize: Int, positions: [Int32], slotMapping: [Int32], queryStart: [Int32],
                seqLens: [Int32], blockTables: [Int32], maxBlocksPerSeq: Int,
                tensors: (positions: Tensor, slotMapping: Tensor, queryStart: Tensor, seqLens: Tensor, blockTables: Tensor)) {
        self.blockSize = blockSize
        self.positions = positions
        self.slotMapping = slotMapping
        self.queryStart = queryStart
        self.seqLens = seqLens
        self.blockTables = blockTables
        self.maxBlocksPerSeq = maxBlocksPerSeq
        (positionsTensor, slotMappingTensor, queryStartTensor, seqLensTensor, blockTablesTensor) = tensors
    }

    public init(blockSize: Int, positions: [Int32], slotMapping: [Int32], queryStart: [Int32],
                seqLens: [Int32], blockTables: [Int32], maxBlocksPerSeq: Int, backend: any Backend) throws {
        precondition(positions.count == slotMapping.count)
        precondition(queryStart.count == seqLens.count + 1)
        precondition(blockTables.count == seqLens.count * maxBlocksPerSeq)
        let tensors = (positions: try backend.upload(.i32(positions, shape: [positions.count])),
                       slotMapping: try backend.upload(.i32(slotMapping, shape: [slotMapping.count])),
                       queryStart: try backend.upload(.i32(queryStart, shape: [queryStart.count])),
                       seqLens: try backend.upload(.i32(seqLens, shape: [seqLens.count])),
                       blockTables: try backend.upload(.i32(blockTables, shape: [seqLens.count, maxBlocksPerSeq])))
        self.init(blockSize: blockSize, positions: positions, slotMapping: slotMapping, queryStart: queryStart,
                  seqLens: seqLens, blockTables: blockTables, maxBlocksPerSeq: maxBlocksPerSeq, tensors: tensors)
    }
}
