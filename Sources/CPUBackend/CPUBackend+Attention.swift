import CPUKernels
import Tensors

/// Paged attention: K/V written at the slot mapping, then causal attention over the cached context.
extension CPUBackend {
    public func attention(q: Tensor, k: Tensor, v: Tensor, cache: KVCacheLayer, metadata: AttentionMetadata,
                          numHeads: Int, scale: Float, kvStored: Bool) throws -> Tensor {
        let n = metadata.numTokens, nkv = cache.numKVHeads, hd = cache.headDim
        try check(q.count == n * numHeads * hd, "attention: q \(q.shape) for \(n) tokens x \(numHeads) heads x \(hd)")
        try check(k.count == n * nkv * hd && v.count == k.count, "attention: k \(k.shape), v \(v.shape)")
        try check(numHeads % nkv == 0, "attention: \(numHeads) heads not a multiple of \(nkv) KV heads")
        try check(metadata.blockSize == cache.blockSize, "attention: metadata block size \(metadata.blockSize) vs cache \(cache.blockSize)")
        try check(cache.blockSize <= 256 && hd <= 1024, "attention: block size \(cache.blockSize) / head dim \(hd) too large")
        let kc = try f32(cache.key, "key cache"), vc = try f32(cache.value, "value cache")
        if !kvStored { try storeKV(k: k, v: v, into: KVCacheStore(cache: cache, slotMapping: metadata.slotMappingTensor)) }
        let out = empty([n, numHeads * hd])
        ck_paged_attention(pool, try f32(q, "q"), kc, vc, try f32(out, "out"),
                           try i32(metadata.queryStartTensor, "queryStart"), try i32(metadata.seqLensTensor, "seqLens"),
                           try i32(metadata.blockTablesTensor, "blockTables"), Int64(metadata.numSeqs),
                           Int64(metadata.maxBlocksPerSeq), Int64(cache.blockSize), Int64(numHeads), Int64(nkv),
                           Int64(hd), scale)
        return out
    }

    /// k and v [n, numKVHeads*headDim] into the cache at the slot mapping.
    func storeKV(k: Tensor, v: Tensor, into store: KVCacheStore) throws {
        let cache = store.cache, n = store.slotMapping.count
        try check(k.count == n * cache.numKVHeads * cache.headDim && v.count == k.count,
                  "KV store: k \(k.shape), v \(v.shape) for \(n) slots")
        ck_kv_write(pool, try f32(k, "k"), try f32(v, "v"), try f32(cache.key, "key cache"), try f32(cache.value, "value cache"),
                    try i32(store.slotMapping, "slots"), Int64(n), Int64(cache.numKVHeads), Int64(cache.headDim),
                    Int64(cache.numBlocks * cache.blockSize))
    }
}
