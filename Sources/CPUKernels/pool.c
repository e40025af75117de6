// Persistent worker pool: workers spin briefly on a generation counter, then sleep on a futex
// (a condition variable off Linux). The caller takes part as thread 0, so a one-thread pool has no workers.
#define _GNU_SOURCE
#include "cpu_kernels.h"
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#if defined(__linux__)
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif
#if defined(__x86_64__)
#include <immintrin.h>
#define CK_PAUSE() _mm_pause()
#else
#define CK_PAUSE() ((void)0)
#endif

// ~50-200 us of spinning: covers the gap between the ops of one forward pass without burning a core
// for long once the engine goes idle.
#define CK_SPIN_ITERS 4000

typedef struct {
    void *ptr;
    size_t size;
    char pad[48];
} ck_scratch;

// Job protocol: the caller writes the job's fields, then publishes `next` = (job << 32) | 0. Anyone claims
// a chunk by CAS on `next` (so a claim can only succeed while that job is current and has work left), runs
// it, and adds its size to `done`; the caller returns once `done` reaches `total`. The caller never waits
// for workers that have not woken up yet: on a busy machine a sleeping worker can take milliseconds to be
// scheduled, and the caller simply does those chunks itself.
struct ck_pool {
    int nthreads;
    pthread_t *threads;
    ck_scratch *scratch;
    _Alignas(64) _Atomic uint32_t generation;  // futex word: bumped once per job to wake sleepers
    _Alignas(64) _Atomic uint64_t next;
    _Alignas(64) _Atomic int64_t done;
    _Alignas(64) _Atomic int sleepers;
    int stop;
    pthread_mutex_t dispatch;  // callers are meant to be one thread at a time; this makes misuse safe
    uint32_t job;
    // Fields of the current job: plain memory published by the release store of `next`, read with
    // relaxed atomics because a late worker may read them while the caller prepares the next job (its
    // claim then fails, since `next` changed).
    int64_t total, chunk;
    ck_range_fn fn;
    void *ctx;
#if !defined(__linux__)
    pthread_mutex_t mutex;
    pthread_cond_t cond;
#endif
};

typedef struct {
    ck_pool *pool;
    int index;
} ck_worker_arg;

static void ck_wait_generation(ck_pool *p, uint32_t seen) {
#if defined(__linux__)
    syscall(SYS_futex, &p->generation, FUTEX_WAIT_PRIVATE, seen, NULL, NULL, 0);
#else
    pthread_mutex_lock(&p->mutex);
    while (atomic_load(&p->generation) == seen) pthread_cond_wait(&p->cond, &p->mutex);
    pthread_mutex_unlock(&p->mutex);
#endif
}

static void ck_wake_all(ck_pool *p) {
#if defined(__linux__)
    syscall(SYS_futex, &p->generation, FUTEX_WAKE_PRIVATE, 0x7fffffff, NULL, NULL, 0);
#else
    pthread_mutex_lock(&p->mutex);
    pthread_cond_broadcast(&p->cond);
    pthread_mutex_unlock(&p->mutex);
#endif
}

static void ck_run_chunks(ck_pool *p, int thread) {
    for (;;) {
        uint64_t v = atomic_load_explicit(&p->next, memory_order_acquire);
        int64_t total = __atomic_load_n(&p->total, __ATOMIC_RELAXED);
        int64_t chunk = __atomic_load_n(&p->chunk, __ATOMIC_RELAXED);
        ck_range_fn fn = __atomic_load_n(&p->fn, __ATOMIC_RELAXED);
        void *ctx = __atomic_load_n(&p->ctx, __ATOMIC_RELAXED);
        // Pairs with the caller's fence after retiring `next`: fields of a later job read above
        // mean the claim below sees `next` changed and fails.
        atomic_thread_fence(memory_order_acquire);
        int64_t b = (int64_t)(uint32_t)v;
        if (b >= total) return;
        int64_t e = b + chunk < total ? b + chunk : total;
        if (!atomic_compare_exchange_weak_explicit(&p->next, &v, v + (uint64_t)(e - b), memory_order_acq_rel,
                                                   memory_order_relaxed))
            continue;
        fn(ctx, b, e, thread);
        atomic_fetch_add_explicit(&p->done, e - b, memory_order_release);
    }
}

static void *ck_worker(void *arg) {
    ck_pool *p = ((ck_worker_arg *)arg)->pool;
    int index = ((ck_worker_arg *)arg)->index;
    free(arg);
    uint32_t seen = 0;  // the generation at creation: a job dispatched before this thread ran is still ours
    for (;;) {
        uint32_t g;
        int spins = 0;
        while ((g = atomic_load_explicit(&p->generation, memory_order_acquire)) == seen) {
            if (++spins < CK_SPIN_ITERS) {
                CK_PAUSE();
                continue;
            }
            atomic_fetch_add(&p->sleepers, 1);
            ck_wait_generation(p, seen);
            atomic_fetch_sub(&p->sleepers, 1);
            spins = 0;
        }
        seen = g;
        if (__atomic_load_n(&p->stop, __ATOMIC_ACQUIRE)) break;
        ck_run_chunks(p, index);
    }
    return NULL;
}

ck_pool *ck_pool_create(int threads) {
    if (threads < 1) threads = 1;
    ck_pool *p = aligned_alloc(64, (sizeof(ck_pool) + 63) / 64 * 64);
    memset(p, 0, sizeof(*p));
    p->nthreads = threads;
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);  // ops hold it around several parallel_fors
    pthread_mutex_init(&p->dispatch, &attr);
    pthread_mutexattr_destroy(&attr);
    p->scratch = calloc((size_t)threads + 1, sizeof(ck_scratch));  // + one for the caller's per-call buffers
    p->threads = calloc((size_t)threads, sizeof(pthread_t));
#if !defined(__linux__)
    pthread_mutex_init(&p->mutex, NULL);
    pthread_cond_init(&p->cond, NULL);
#endif
    for (int i = 1; i < threads; i++) {
        ck_worker_arg *a = malloc(sizeof(*a));
        a->pool = p;
        a->index = i;
        pthread_create(&p->threads[i], NULL, ck_worker, a);
    }
    return p;
}

void ck_pool_destroy(ck_pool *p) {
    if (!p) return;
    __atomic_store_n(&p->stop, 1, __ATOMIC_RELEASE);
    atomic_fetch_add(&p->generation, 1);
    ck_wake_all(p);
    for (int i = 1; i < p->nthreads; i++) pthread_join(p->threads[i], NULL);
    for (int i = 0; i <= p->nthreads; i++) free(p->scratch[i].ptr);
    free(p->scratch);
    free(p->threads);
    free(p);
}

int ck_pool_threads(const ck_pool *p) { return p->nthreads; }

void *ck_pool_scratch(ck_pool *p, int thread, size_t bytes) {
    ck_scratch *s = &p->scratch[thread];
    if (s->size < bytes) {
        free(s->ptr);
        size_t size = (bytes + 4095) / 4096 * 4096;
        s->ptr = aligned_alloc(64, size);
        s->size = size;
    }
    return s->ptr;
}

void ck_pool_lock(ck_pool *p) { pthread_mutex_lock(&p->dispatch); }
void ck_pool_unlock(ck_pool *p) { pthread_mutex_unlock(&p->dispatch); }

void *ck_pool_call_scratch(ck_pool *p, size_t bytes) { return ck_pool_scratch(p, p->nthreads, bytes); }

void ck_parallel_for(ck_pool *p, int64_t total, int64_t chunk, ck_range_fn fn, void *ctx) {
    if (total <= 0) return;
    if (chunk < 1) chunk = 1;
    if (p == NULL) {
        fn(ctx, 0, total, 0);
        return;
    }
    pthread_mutex_lock(&p->dispatch);
    // (The claim counter holds 32 bits of index; larger ranges run on the caller alone.)
    if (p->nthreads == 1 || total <= chunk || total > 0x7fffffff) {
        fn(ctx, 0, total, 0);
        pthread_mutex_unlock(&p->dispatch);
        return;
    }
    // Retire the previous job before its fields change: a worker that read its `next` late must
    // not claim a chunk of it and run it with this job's fields (or this job's chunks with its
    // fields), which wrote through stale context and corrupted memory. The marker's index is past
    // any total, so it reads as "no work"; the fence keeps the field stores after it.
    p->job++;
    atomic_store_explicit(&p->next, ((uint64_t)p->job << 32) | 0xffffffffu, memory_order_relaxed);
    atomic_thread_fence(memory_order_seq_cst);
    __atomic_store_n(&p->total, total, __ATOMIC_RELAXED);
    __atomic_store_n(&p->chunk, chunk, __ATOMIC_RELAXED);
    __atomic_store_n(&p->fn, fn, __ATOMIC_RELAXED);
    __atomic_store_n(&p->ctx, ctx, __ATOMIC_RELAXED);
    atomic_store_explicit(&p->done, 0, memory_order_relaxed);
    atomic_store_explicit(&p->next, (uint64_t)p->job << 32, memory_order_release);
    atomic_fetch_add(&p->generation, 1);  // seq_cst: orders with `sleepers`
    if (atomic_load(&p->sleepers) > 0) ck_wake_all(p);
    ck_run_chunks(p, 0);
    // Only chunks already claimed by a worker remain; on an oversubscribed machine that worker may be
    // descheduled, so stop hogging the core after a while.
    for (int spins = 0; atomic_load_explicit(&p->done, memory_order_acquire) < total; spins++) {
        if (spins < 2000) CK_PAUSE();
        else sched_yield();
    }
    pthread_mutex_unlock(&p->dispatch);
}
