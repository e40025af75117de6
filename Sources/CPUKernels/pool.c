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

struct ck_pool {
    int nthreads;
    pthread_t *threads;
    ck_scratch *scratch;
    _Alignas(64) _Atomic uint32_t generation;
    _Alignas(64) _Atomic int64_t next;
    _Alignas(64) _Atomic int active;
    _Alignas(64) _Atomic int sleepers;
    int stop;
    pthread_mutex_t dispatch;  // callers are meant to be one thread at a time; this makes misuse safe
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
    const int64_t total = p->total, chunk = p->chunk;
    for (;;) {
        int64_t b = atomic_fetch_add_explicit(&p->next, chunk, memory_order_relaxed);
        if (b >= total) break;
        int64_t e = b + chunk < total ? b + chunk : total;
        p->fn(p->ctx, b, e, thread);
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
        if (p->stop) break;
        ck_run_chunks(p, index);
        atomic_fetch_sub_explicit(&p->active, 1, memory_order_release);
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
    p->stop = 1;
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
    if (p->nthreads == 1 || total <= chunk) {
        fn(ctx, 0, total, 0);
        pthread_mutex_unlock(&p->dispatch);
        return;
    }
    p->total = total;
    p->chunk = chunk;
    p->fn = fn;
    p->ctx = ctx;
    atomic_store_explicit(&p->next, 0, memory_order_relaxed);
    atomic_store_explicit(&p->active, p->nthreads - 1, memory_order_relaxed);
    atomic_fetch_add(&p->generation, 1);  // seq_cst: publishes the job and orders with `sleepers`
    if (atomic_load(&p->sleepers) > 0) ck_wake_all(p);
    ck_run_chunks(p, 0);
    // Workers are finishing their last chunk; on an oversubscribed machine one may be descheduled, so
    // stop hogging the core after a while.
    for (int spins = 0; atomic_load_explicit(&p->active, memory_order_acquire) > 0; spins++) {
        if (spins < 2000) CK_PAUSE();
        else sched_yield();
    }
    pthread_mutex_unlock(&p->dispatch);
}
