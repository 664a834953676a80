#include "internal.h"
#include <time.h>

// Task claiming and a spinning join for ParallelLoop. Spinning rather than sleeping is
// the point: on a VM an idle vCPU is woken by the host, which measured 30–300 µs here,
// while a busy-waiting one sees the store in nanoseconds. A thread only ever waits on
// tasks that running threads have already claimed, so a wait always ends.

// One spin-wait step: tells the core (and a hyperthread sibling) that this is a wait.
static inline void relax(void) {
#if CK_X86
    _mm_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

ptrdiff_t ck_work_claim(ptrdiff_t *next) { return __atomic_fetch_add(next, 1, __ATOMIC_RELAXED); }

void ck_work_finish(ptrdiff_t *finished) { __atomic_fetch_add(finished, 1, __ATOMIC_RELEASE); }

void ck_work_wait(const ptrdiff_t *finished, ptrdiff_t target) {
    while (__atomic_load_n(finished, __ATOMIC_ACQUIRE) < target) {
        relax();
    }
}

// ---------------------------------------------------------------- staying workers

static int64_t now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

ptrdiff_t ck_atomic_load(const ptrdiff_t *cell) { return __atomic_load_n(cell, __ATOMIC_SEQ_CST); }

void ck_atomic_store(ptrdiff_t *cell, ptrdiff_t value) { __atomic_store_n(cell, value, __ATOMIC_SEQ_CST); }

ptrdiff_t ck_atomic_add(ptrdiff_t *cell, ptrdiff_t delta) { return __atomic_fetch_add(cell, delta, __ATOMIC_SEQ_CST); }

int ck_atomic_exchange_if(ptrdiff_t *cell, ptrdiff_t expected, ptrdiff_t desired) {
    return __atomic_compare_exchange_n(cell, &expected, desired, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
}

void ck_spin_until_zero(const ptrdiff_t *cell) {
    while (__atomic_load_n(cell, __ATOMIC_SEQ_CST) != 0) {
        relax();
    }
}

int ck_spin_for_change(const ptrdiff_t *cell, ptrdiff_t seen, int64_t nanoseconds) {
    // The clock is read every 64 pauses: a vDSO call costs about as much as 20 pauses.
    const int64_t deadline = now_ns() + nanoseconds;
    for (;;) {
        for (int i = 0; i < 64; i++) {
            if (__atomic_load_n(cell, __ATOMIC_ACQUIRE) != seen) return 1;
            relax();
        }
        if (now_ns() >= deadline) return 0;
    }
}
