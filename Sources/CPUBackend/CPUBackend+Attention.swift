import CPUKernels
import Tensors

/// Paged attention: K/V written at the slot mapping, then causal attention over the cached context
/// (an f32 cache, or an E4M3 one, `--kv-cache-dtype fp8`).
extension CPUBackend {
    public func attention(q: Tensor, k: Tensor, v: Tensor, cache: KVCacheLayer, metadata: AttentionMetadata,
                          numHeads: Int, scale: Float, kvStored: Bool) throws -> Tensor {
        let n = metadata.numTokens, nkv = cache.numKVHeads, hd = cache.headDim
        try check(q.count == n * numHeads * hd, "attention: q \(q.shape) for \(n) tokens x \(numHeads) heads x \(hd)")
        try check(k.count == n * nkv * hd && v.count == k.count, "attention: k \(k.shape), v \(v.shape)")
        try check(numHeads % nkv == 0, "attention: \(numHeads) heads not a multiple of \(nkv) KV heads")
        try check(metadata.blockSize == cache.blockSize, "attention: metadata block size \(metadata.blockSize) vs cache \(cache.blockSize)")
        try check(cache.blockSize <= 256 && hd <= 1024, "attention: block size \(cache.blockSize) / head dim \(hd) too large")
        if !kvStored { try storeKV(k: k, v: v, into: KVCacheStore(cache: cache, slotMapping: metadata.slotMappingTensor)) }
        let out = empty([n, numHeads * hd])
        let qs = try f32(q, "q"), os = try f32(out, "out")
        let queryStart = try i32(metadata.queryStartTensor, "queryStart"), seqLens = try i32(metadata.seqLensTensor, "seqLens")
        let tables = try i32(metadata.blockTablesTensor, "blockTables")
        if cache.key.dtype == .f8e4m3 {
            ck_paged_attention_e4m3(pool, qs, try e4m3(cache.key, "key cache"), try e4m3(cache.value, "value cache"), os,
                                    queryStart, seqLens, tables, Int64(metadata.numSeqs), Int64(metadata.maxBlocksPerSeq),
                                    Int64(cache.blockSize), Int64(numHeads), Int64(nkv), Int64(hd), scale)
        } else {
            ck_paged_attention(pool, qs, try f32(cache.key, "key cache"), try f32(cache.value, "value cache"), os,
                               queryStart, seqLens, tables, Int64(metadata.numSeqs), Int64(metadata.maxBlocksPerSeq),
                               Int64(cache.blockSize), Int64(numHeads), Int64(nkv), Int64(hd), scale)
        }
        return out
    }

    /// k and v [n, numKVHeads*headDim] into the cache at the slot mapping.
    func storeKV(k: Tensor, v: Tensor, into store: KVCacheStore) throws {
        let cache = store.cache, n = store.slotMapping.count
        try check(k.count == n * cache.numKVHeads * cache.headDim && v.count == k.count,
                  "KV store: k \(k.shape), v \(v.shape) for \(n) slots")
        let slots = try i32(store.slotMapping, "slots"), numSlots = Int64(cache.numBlocks * cache.blockSize)
        if cache.key.dtype == .f8e4m3 {
            ck_kv_write_e4m3(pool, try f32(k, "k"), try f32(v, "v"), try e4m3(cache.key, "key cache"),
                             try e4m3(cache.value, "value cache"), slots, Int64(n), Int64(cache.numKVHeads),
                             Int64(cache.headDim), numSlots)
        } else {
            ck_kv_write(pool, try f32(k, "k"), try f32(v, "v"), try f32(cache.key, "key cache"), try f32(cache.value, "value cache"),
                        slots, Int64(n), Int64(cache.numKVHeads), Int64(cache.headDim), numSlots)
        }
    }
}
