#include "internal.h"
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

// The blocked implicit-GEMM driver: one call computes a rectangle (output channels
// [k0, k1) × pixels [p0, p1)) of one image and group, `C[Kg × P] = W[Kg × Q] · B[Q × P]`.
//
// Weights are read in place (row `k` of `W` is the filter of output channel k, `Q`
// contiguous floats), broadcast one tap at a time by the micro-kernel: no weight packing,
// so a layer whose weights outweigh its activations (7×7 maps, 2048 channels) reads them
// once. `B` (im2col) is packed per (pixel block × depth block) into NR-column panels in a
// per-thread workspace that lives as long as the thread, so a call allocates nothing.
//
// Loop nest (BLIS order): pixel block NC → depth block KC (pack B) → channel block MC →
// NR panel (stays in L1) → MR rows (A streams from L2). The first depth block stores
// `bias + partial`, later ones add, the last applies the epilogue in registers.

// Tuned on the 2-vCPU Xeon (48 KB L1d, 2 MB L2): a 32×KC panel (32 KB) stays in L1, the
// KC×NC packed block (128 KB), the MC×KC weight block (128 KB) and the MC×NC output block
// (64 KB) in L2. NC = 384 ran 256-channel 56×56 layers 1.5× slower (L2 overflow).
enum { KC = CK_GEMM_KC, NC = CK_GEMM_NC, MC = 128 };

// ---------------------------------------------------------------- per-thread workspace

// One grow-only buffer per thread and slot; the key frees it when the thread exits.
typedef struct thread_buffer {
    pthread_key_t key;
    pthread_once_t once;
} thread_buffer;

static void buffer_free(void *p) { free(p); }
static thread_buffer workspace_slot = {0, PTHREAD_ONCE_INIT}, shared_slot = {0, PTHREAD_ONCE_INIT},
                     scratch_slot = {0, PTHREAD_ONCE_INIT};
static void workspace_init(void) { pthread_key_create(&workspace_slot.key, buffer_free); }
static void shared_init(void) { pthread_key_create(&shared_slot.key, buffer_free); }
static void scratch_init(void) { pthread_key_create(&scratch_slot.key, buffer_free); }
static _Thread_local float *workspace_ptr, *shared_ptr, *scratch_ptr;
static _Thread_local size_t workspace_floats, shared_floats, scratch_floats;

static float *grow(thread_buffer *slot, void (*init)(void), float **ptr, size_t *have, size_t floats) {
    if (floats <= *have) return *ptr;
    pthread_once(&slot->once, init);
    free(*ptr);
    size_t bytes = ((floats * sizeof(float)) + 63) & ~(size_t)63;
    *ptr = aligned_alloc(64, bytes);
    *have = *ptr ? floats : 0;
    pthread_setspecific(slot->key, *ptr);
    return *ptr;
}

float *ck_thread_workspace(size_t floats) {
    return grow(&workspace_slot, workspace_init, &workspace_ptr, &workspace_floats, floats);
}

float *ck_thread_shared_buffer(size_t floats) {
    return grow(&shared_slot, shared_init, &shared_ptr, &shared_floats, floats);
}

float *ck_thread_scratch(size_t floats) {
    return grow(&scratch_slot, scratch_init, &scratch_ptr, &scratch_floats, floats);
}

// ---------------------------------------------------------------- portable tile (6×16)

typedef ck_tile_fn tile_fn;

static void store_tile(const float *tile, int nr, float *c, ptrdiff_t ldc, int rows, int columns,
                       const float *bias, int accumulate, const ck_epilogue *epilogue) {
    for (int i = 0; i < rows; i++) {
        float *row = c + (ptrdiff_t)i * ldc;
        const float add = (!accumulate && bias) ? bias[i] : 0.0f;
        for (int j = 0; j < columns; j++) {
            row[j] = ck_activate(epilogue, accumulate ? row[j] + tile[i * nr + j] : tile[i * nr + j] + add);
        }
    }
}

static void tile_portable(int kc, const float *a, ptrdiff_t lda, const float *b, float *c, ptrdiff_t ldc,
                          int rows, int columns, const float *bias, int accumulate, const ck_epilogue *epilogue) {
    float acc[6 * 16];
    memset(acc, 0, sizeof acc);
    for (int p = 0; p < kc; p++) {
        for (int i = 0; i < rows; i++) {
            const float av = a[(ptrdiff_t)i * lda + p];
            for (int j = 0; j < 16; j++) acc[i * 16 + j] += av * b[j];
        }
        b += 16;
    }
    store_tile(acc, 16, c, ldc, rows, columns, bias, accumulate, epilogue);
}

#if CK_X86
// ---------------------------------------------------------------- AVX2 tile (6×16)

#define ROW2(i, ptr)                                           \
    do {                                                       \
        const __m256 av = _mm256_broadcast_ss(ptr);            \
        c##i##l = _mm256_fmadd_ps(av, bl, c##i##l);            \
        c##i##h = _mm256_fmadd_ps(av, bh, c##i##h);            \
    } while (0)

#define STORE2(i)                                                                        \
    do {                                                                                 \
        float *row = c + (ptrdiff_t)(i) * ldc;                                           \
        if (accumulate) {                                                                \
            c##i##l = _mm256_add_ps(_mm256_loadu_ps(row), c##i##l);                      \
            c##i##h = _mm256_add_ps(_mm256_loadu_ps(row + 8), c##i##h);                  \
        } else if (bias) {                                                               \
            const __m256 bv = _mm256_set1_ps(bias[i]);                                   \
            c##i##l = _mm256_add_ps(c##i##l, bv);                                        \
            c##i##h = _mm256_add_ps(c##i##h, bv);                                        \
        }                                                                                \
        if (in_registers) {                                                              \
            c##i##l = ck_activate_avx2(epilogue, c##i##l);                               \
            c##i##h = ck_activate_avx2(epilogue, c##i##h);                               \
        }                                                                                \
        _mm256_storeu_ps(row, c##i##l);                                                  \
        _mm256_storeu_ps(row + 8, c##i##h);                                              \
    } while (0)

#define SPILL2(i)                                    \
    do {                                             \
        _mm256_storeu_ps(tile + (i) * 16, c##i##l);  \
        _mm256_storeu_ps(tile + (i) * 16 + 8, c##i##h); \
    } while (0)

CK_AVX2 static void tile_avx2(int kc, const float *a, ptrdiff_t lda, const float *b, float *c, ptrdiff_t ldc,
                              int rows, int columns, const float *bias, int accumulate,
                              const ck_epilogue *epilogue) {
    // Rows past `rows` repeat the last live row (never stored), so no read leaves W.
    const float *a0 = a, *a1 = a + (ptrdiff_t)ck_min(1, rows - 1) * lda, *a2 = a + (ptrdiff_t)ck_min(2, rows - 1) * lda;
    const float *a3 = a + (ptrdiff_t)ck_min(3, rows - 1) * lda, *a4 = a + (ptrdiff_t)ck_min(4, rows - 1) * lda;
    const float *a5 = a + (ptrdiff_t)ck_min(5, rows - 1) * lda;
    __m256 c0l = _mm256_setzero_ps(), c0h = _mm256_setzero_ps();
    __m256 c1l = _mm256_setzero_ps(), c1h = _mm256_setzero_ps();
    __m256 c2l = _mm256_setzero_ps(), c2h = _mm256_setzero_ps();
    __m256 c3l = _mm256_setzero_ps(), c3h = _mm256_setzero_ps();
    __m256 c4l = _mm256_setzero_ps(), c4h = _mm256_setzero_ps();
    __m256 c5l = _mm256_setzero_ps(), c5h = _mm256_setzero_ps();
    for (int p = 0; p < kc; p++) {
        const __m256 bl = _mm256_loadu_ps(b);
        const __m256 bh = _mm256_loadu_ps(b + 8);
        ROW2(0, a0 + p); ROW2(1, a1 + p); ROW2(2, a2 + p); ROW2(3, a3 + p); ROW2(4, a4 + p); ROW2(5, a5 + p);
        b += 16;
    }
    if (rows == 6 && columns == 16) {
        const int in_registers = ck_epilogue_in_registers(epilogue);
        STORE2(0); STORE2(1); STORE2(2); STORE2(3); STORE2(4); STORE2(5);
        if (ck_epilogue_after_store(epilogue)) {
            for (int i = 0; i < 6; i++) ck_apply_epilogue(epilogue, c + (ptrdiff_t)i * ldc, 16);
        }
    } else {
        float tile[6 * 16];
        SPILL2(0); SPILL2(1); SPILL2(2); SPILL2(3); SPILL2(4); SPILL2(5);
        store_tile(tile, 16, c, ldc, rows, columns, bias, accumulate, epilogue);
    }
}

// ---------------------------------------------------------------- AVX-512 tile (8×32)

#define ROW5(i, ptr)                                           \
    do {                                                       \
        const __m512 av = _mm512_set1_ps(*(ptr));              \
        c##i##l = _mm512_fmadd_ps(av, bl, c##i##l);            \
        c##i##h = _mm512_fmadd_ps(av, bh, c##i##h);            \
    } while (0)

#define STORE5(i)                                                                        \
    do {                                                                                 \
        if ((i) < rows) {                                                                \
            float *row = c + (ptrdiff_t)(i) * ldc;                                       \
            if (accumulate) {                                                            \
                c##i##l = _mm512_add_ps(_mm512_maskz_loadu_ps(ml, row), c##i##l);        \
                c##i##h = _mm512_add_ps(_mm512_maskz_loadu_ps(mh, row + 16), c##i##h);   \
            } else if (bias) {                                                           \
                const __m512 bv = _mm512_set1_ps(bias[i]);                               \
                c##i##l = _mm512_add_ps(c##i##l, bv);                                    \
                c##i##h = _mm512_add_ps(c##i##h, bv);                                    \
            }                                                                            \
            if (in_registers) {                                                          \
                c##i##l = ck_activate_avx512(epilogue, c##i##l);                                \
                c##i##h = ck_activate_avx512(epilogue, c##i##h);                                \
            }                                                                            \
            _mm512_mask_storeu_ps(row, ml, c##i##l);                                     \
            _mm512_mask_storeu_ps(row + 16, mh, c##i##h);                                \
            if (after_store) ck_apply_epilogue(epilogue, row, columns);                  \
        }                                                                                \
    } while (0)

// The 8-row tile body: row i's weight for tap p is a_i[p * ts], a_i = a + min(i, rows - 1)·rs
// (rows past `rows` repeat the last live one, never stored, so no read leaves the weights):
// in place (rs = lda, ts = 1) or packed by `ck_pack_gemm_weights` (rs = 1, ts = 8: the 8
// filters' weights of a tap side by side, one stream the hardware prefetcher follows).
// Inlined with constant ts and prefetch, so each caller gets its own loop.
CK_AVX512 static inline __attribute__((always_inline)) void tile8x32(
    int kc, const float *a, ptrdiff_t rs, const int ts, const int prefetch, const float *b, float *c, ptrdiff_t ldc,
    int rows, int columns, const float *bias, int accumulate, const ck_epilogue *epilogue) {
    const float *a0 = a, *a1 = a + (ptrdiff_t)ck_min(1, rows - 1) * rs, *a2 = a + (ptrdiff_t)ck_min(2, rows - 1) * rs;
    const float *a3 = a + (ptrdiff_t)ck_min(3, rows - 1) * rs, *a4 = a + (ptrdiff_t)ck_min(4, rows - 1) * rs;
    const float *a5 = a + (ptrdiff_t)ck_min(5, rows - 1) * rs, *a6 = a + (ptrdiff_t)ck_min(6, rows - 1) * rs;
    const float *a7 = a + (ptrdiff_t)ck_min(7, rows - 1) * rs;
    __m512 c0l = _mm512_setzero_ps(), c0h = _mm512_setzero_ps();
    __m512 c1l = _mm512_setzero_ps(), c1h = _mm512_setzero_ps();
    __m512 c2l = _mm512_setzero_ps(), c2h = _mm512_setzero_ps();
    __m512 c3l = _mm512_setzero_ps(), c3h = _mm512_setzero_ps();
    __m512 c4l = _mm512_setzero_ps(), c4h = _mm512_setzero_ps();
    __m512 c5l = _mm512_setzero_ps(), c5h = _mm512_setzero_ps();
    __m512 c6l = _mm512_setzero_ps(), c6h = _mm512_setzero_ps();
    __m512 c7l = _mm512_setzero_ps(), c7h = _mm512_setzero_ps();
    // In place: the next tile's weight rows, a cache line per row every 16 taps: rows are
    // read in 1 KB runs, too short for the hardware prefetcher, and on small maps each
    // weight serves only one or two panels, so its first read would otherwise stall.
    const uintptr_t next = (uintptr_t)(a + 8 * rs);
    for (int p = 0; p < kc; p++) {
        if (prefetch && (p & 15) == 0) {
            for (int i = 0; i < 8; i++) _mm_prefetch((const char *)(next + ((uintptr_t)(i * rs + p) << 2)), _MM_HINT_T0);
        }
        const __m512 bl = _mm512_load_ps(b);
        const __m512 bh = _mm512_load_ps(b + 16);
        const ptrdiff_t t = (ptrdiff_t)p * ts;
        ROW5(0, a0 + t); ROW5(1, a1 + t); ROW5(2, a2 + t); ROW5(3, a3 + t);
        ROW5(4, a4 + t); ROW5(5, a5 + t); ROW5(6, a6 + t); ROW5(7, a7 + t);
        b += 32;
    }
    const __mmask16 ml = (__mmask16)(columns >= 16 ? 0xFFFF : (1u << columns) - 1);
    const __mmask16 mh = (__mmask16)(columns >= 32 ? 0xFFFF : columns <= 16 ? 0 : (1u << (columns - 16)) - 1);
    const int in_registers = ck_epilogue_in_registers(epilogue);
    const int after_store = ck_epilogue_after_store(epilogue);
    STORE5(0); STORE5(1); STORE5(2); STORE5(3); STORE5(4); STORE5(5); STORE5(6); STORE5(7);
}

// The per-tap run loop, for filters too large for the entry table.
CK_AVX512 static void pack_runs_slow(const ck_conv_plane *p, const float *input, int q0, int depth, float *panel,
                                     int run_count, const int *run_lane, const int *run_i, const int *run_j,
                                     __m512i ramp_sw) {
    const int height = p->input_height, width = p->input_width;
    const int R = p->kernel_height, S = p->kernel_width;
    const int sh = p->stride_height, sw = p->stride_width;
    const ptrdiff_t plane = (ptrdiff_t)height * width;
    int c = q0 / (R * S), r = q0 / S % R, s = q0 % S;
    for (int t = 0; t < depth; t++) {
        const float *channel = input + (ptrdiff_t)c * plane;
        const int dr = r * p->dilation_height, ds = s * p->dilation_width;
        __m512 lo = _mm512_setzero_ps(), hi = _mm512_setzero_ps();
        for (int k = 0; k < run_count; k++) {
            const int ih = run_i[k] * sh - p->pad_top + dr;
            if (ih < 0 || ih >= height) continue;
            const int lane = run_lane[k], count = run_lane[k + 1] - lane;
            const int col0 = run_j[k] * sw - p->pad_left + ds;
            int from, to;
            ck_run_lanes(col0, lane, count, sw, width, &from, &to);
            if (from >= to) continue;
            const unsigned long long bits = ((to >= 64 ? ~0ull : (1ull << to) - 1)) & ~((1ull << from) - 1);
            const __mmask16 ml = (__mmask16)(bits & 0xFFFF), mh = (__mmask16)(bits >> 16);
            const float *base = channel + (ptrdiff_t)ih * width + col0 - (ptrdiff_t)lane * sw;
            if (ml) lo = _mm512_mask_i32gather_ps(lo, ml, ramp_sw, base, 4);
            if (mh) hi = _mm512_mask_i32gather_ps(hi, mh, ramp_sw, base + 16 * sw, 4);
        }
        _mm512_store_ps(panel + t * 32, lo);
        _mm512_store_ps(panel + t * 32 + 16, hi);
        if (++s == S) {
            s = 0;
            if (++r == R) {
                r = 0;
                c++;
            }
        }
    }
}

// The same 8-row tile over the first 16 columns of a 32-column panel, for a panel's last
// ≤ 16 live columns (14×14 maps: 196 = 6·32 + 4), at half the FMAs of the full tile.
#define ROW16(i, ptr) c##i = _mm512_fmadd_ps(_mm512_set1_ps(*(ptr)), bl, c##i)
#define STORE16(i)                                                                       \
    do {                                                                                 \
        if ((i) < rows) {                                                                \
            float *row = c + (ptrdiff_t)(i) * ldc;                                       \
            if (accumulate) c##i = _mm512_add_ps(_mm512_maskz_loadu_ps(ml, row), c##i);   \
            else if (bias) c##i = _mm512_add_ps(c##i, _mm512_set1_ps(bias[i]));          \
            if (in_registers) c##i = ck_activate_avx512(epilogue, c##i);                        \
            _mm512_mask_storeu_ps(row, ml, c##i);                                        \
            if (after_store) ck_apply_epilogue(epilogue, row, columns);                  \
        }                                                                                \
    } while (0)

CK_AVX512 static inline __attribute__((always_inline)) void tile8x16(
    int kc, const float *a, ptrdiff_t rs, const int ts, const float *b, float *c, ptrdiff_t ldc, int rows, int columns,
    const float *bias, int accumulate, const ck_epilogue *epilogue) {
    const float *a0 = a, *a1 = a + (ptrdiff_t)ck_min(1, rows - 1) * rs, *a2 = a + (ptrdiff_t)ck_min(2, rows - 1) * rs;
    const float *a3 = a + (ptrdiff_t)ck_min(3, rows - 1) * rs, *a4 = a + (ptrdiff_t)ck_min(4, rows - 1) * rs;
    const float *a5 = a + (ptrdiff_t)ck_min(5, rows - 1) * rs, *a6 = a + (ptrdiff_t)ck_min(6, rows - 1) * rs;
    const float *a7 = a + (ptrdiff_t)ck_min(7, rows - 1) * rs;
    __m512 c0 = _mm512_setzero_ps(), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0, c6 = c0, c7 = c0;
    for (int p = 0; p < kc; p++) {
        const __m512 bl = _mm512_load_ps(b);
        const ptrdiff_t t = (ptrdiff_t)p * ts;
        ROW16(0, a0 + t); ROW16(1, a1 + t); ROW16(2, a2 + t); ROW16(3, a3 + t);
        ROW16(4, a4 + t); ROW16(5, a5 + t); ROW16(6, a6 + t); ROW16(7, a7 + t);
        b += 32;
    }
    const __mmask16 ml = (__mmask16)(columns >= 16 ? 0xFFFF : (1u << columns) - 1);
    const int in_registers = ck_epilogue_in_registers(epilogue);
    const int after_store = ck_epilogue_after_store(epilogue);
    STORE16(0); STORE16(1); STORE16(2); STORE16(3); STORE16(4); STORE16(5); STORE16(6); STORE16(7);
}

// The 8-row tile on prepacked weights (`ck_pack_gemm_weights`), full or half panel.
CK_AVX512 static void tile_avx512_packed(int kc, const float *a, const float *b, float *c, ptrdiff_t ldc, int rows,
                                         int columns, const float *bias, int accumulate, const ck_epilogue *epilogue) {
    if (columns <= 16) tile8x16(kc, a, 1, 8, b, c, ldc, rows, columns, bias, accumulate, epilogue);
    else tile8x32(kc, a, 1, 8, 0, b, c, ldc, rows, columns, bias, accumulate, epilogue);
}

// A panel's last E (1–4) live columns: past the 16 a half tile covers (a 7×7 map: 49 =
// 32 + 16 + 1) or a whole panel of at most 4 (a 14×14 map: 196 = 6·32 + 4), for `tiles` packed tiles at once: per tap, each tile's 8 weights are one
// vector and each column's value a broadcast, so a column costs about one load per tile
// and tap where the full tile would spend 8 FMAs on 16 mostly idle lanes. Each output is
// the tile's sum: taps in order from zero, then bias or accumulate, then the epilogue.
CK_AVX512 static inline __attribute__((always_inline)) void tail_columns(
    const int E, int kc, const float *a, ptrdiff_t tile_stride, int tiles, int last_rows, const float *b, float *c,
    ptrdiff_t ldc, const float *bias, int accumulate, const ck_epilogue *epilogue) {
    // At least 8 independent accumulators hide the FMA latency; at most 16 stay in registers.
    const int G = E <= 2 ? 8 : 4;
    for (int t0 = 0; t0 < tiles; t0 += G) {
        const int g = ck_min(G, tiles - t0);
        __m256 acc[8][4];
#pragma clang loop unroll(full)
        for (int t = 0; t < G; t++) {
#pragma clang loop unroll(full)
            for (int e = 0; e < E; e++) acc[t][e] = _mm256_setzero_ps();
        }
        const float *w = a + (ptrdiff_t)t0 * tile_stride;
        for (int p = 0; p < kc; p++) {
            __m256 x[4];
#pragma clang loop unroll(full)
            for (int e = 0; e < E; e++) x[e] = _mm256_set1_ps(b[p * 32 + e]);
#pragma clang loop unroll(full)
            for (int t = 0; t < G; t++) {
                // Past the block's last tile, re-read its weights (never stored).
                const __m256 wv = _mm256_loadu_ps(w + (ptrdiff_t)ck_min(t, g - 1) * tile_stride + p * 8);
#pragma clang loop unroll(full)
                for (int e = 0; e < E; e++) acc[t][e] = _mm256_fmadd_ps(wv, x[e], acc[t][e]);
            }
        }
#pragma clang loop unroll(full)
        for (int t = 0; t < G; t++) {
            if (t >= g) continue;
            const int rows = t0 + t == tiles - 1 ? last_rows : 8, k = (t0 + t) * 8;
#pragma clang loop unroll(full)
            for (int e = 0; e < E; e++) {
                float v[8];
                _mm256_storeu_ps(v, acc[t][e]);
                for (int i = 0; i < rows; i++) {
                    float *dst = c + (ptrdiff_t)(k + i) * ldc + e;
                    float value = accumulate ? *dst + v[i] : (bias ? v[i] + bias[k + i] : v[i]);
                    *dst = epilogue ? ck_activate(epilogue, value) : value;
                }
            }
        }
    }
}

// Whether a panel of `columns` live columns runs `tile_avx512_packed_tail`: 1–4 columns
// (a 14×14 map's last panel: 196 = 6·32 + 4) or 17–20 (a 7×7 map's second: 49 = 32 + 17).
static int packed_tail_fits(int columns) { return columns <= 4 || (columns > 16 && columns <= 20); }

// The column tail alone (1–4 columns), or the half tile and the tail (17–20), packed weights.
CK_AVX512 static void tile_avx512_packed_tail(int kc, const float *a, ptrdiff_t tile_stride, int tiles, int last_rows,
                                              const float *b, float *c, ptrdiff_t ldc, int columns, const float *bias,
                                              int accumulate, const ck_epilogue *epilogue) {
    int first = 0;
    if (columns > 16) {
        for (int t = 0; t < tiles; t++) {
            tile8x16(kc, a + (ptrdiff_t)t * tile_stride, 1, 8, b, c + (ptrdiff_t)t * 8 * ldc, ldc,
                     t == tiles - 1 ? last_rows : 8, 16, bias ? bias + t * 8 : NULL, accumulate, epilogue);
        }
        first = 16;
    }
    b += first;
    c += first;
    switch (columns - first) {
    case 1: tail_columns(1, kc, a, tile_stride, tiles, last_rows, b, c, ldc, bias, accumulate, epilogue); break;
    case 2: tail_columns(2, kc, a, tile_stride, tiles, last_rows, b, c, ldc, bias, accumulate, epilogue); break;
    case 3: tail_columns(3, kc, a, tile_stride, tiles, last_rows, b, c, ldc, bias, accumulate, epilogue); break;
    default: tail_columns(4, kc, a, tile_stride, tiles, last_rows, b, c, ldc, bias, accumulate, epilogue); break;
    }
}

// Dispatches a 32-column-panel tile: the half tile when at most 16 columns are live.
CK_AVX512 static void tile_avx512_any(int kc, const float *a, ptrdiff_t lda, const float *b, float *c, ptrdiff_t ldc,
                                      int rows, int columns, const float *bias, int accumulate,
                                      const ck_epilogue *epilogue) {
    if (columns <= 16) tile8x16(kc, a, lda, 1, b, c, ldc, rows, columns, bias, accumulate, epilogue);
    else tile8x32(kc, a, lda, 1, 1, b, c, ldc, rows, columns, bias, accumulate, epilogue);
}

// Packs im2col rows [q0, q0 + depth) × pixels [p0, p0 + columns) into 32-column panels,
// zero border only. Each (tap, output-row run) is one masked load (stride 1) or masked
// gather (other strides): lanes whose input cell is padding are zero-masked, and masked
// lanes never touch memory.
CK_AVX512 static void pack32_avx512(const ck_conv_plane *p, const float *input, int q0, int depth,
                                    ptrdiff_t p0, int columns, float *packed) {
    const int height = p->input_height, width = p->input_width;
    const int R = p->kernel_height, S = p->kernel_width, ow = p->output_width;
    const int sh = p->stride_height, sw = p->stride_width;
    const ptrdiff_t plane = (ptrdiff_t)height * width;
    const __m512i ramp = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    const __m512i ramp_sw = _mm512_mullo_epi32(ramp, _mm512_set1_epi32(sw));
    // 1×1, stride 1, unpadded, full-width: the panel is a contiguous slice of each channel.
    const int contiguous = R == 1 && S == 1 && sh == 1 && sw == 1 && p->pad_top == 0 && p->pad_left == 0 && ow == width
        && p->output_height == height;
    for (int start = 0; start < columns; start += 32) {
        const int live = ck_min(32, columns - start);
        float *panel = packed + (ptrdiff_t)start * depth;
        const ptrdiff_t first = p0 + start;
        if (contiguous) {
            const __mmask16 ml = (__mmask16)(live >= 16 ? 0xFFFF : (1u << live) - 1);
            const __mmask16 mh = (__mmask16)(live >= 32 ? 0xFFFF : live <= 16 ? 0 : (1u << (live - 16)) - 1);
            for (int t = 0; t < depth; t++) {
                const float *src = input + (ptrdiff_t)(q0 + t) * plane + first;
                _mm512_store_ps(panel + t * 32, _mm512_maskz_loadu_ps(ml, src));
                _mm512_store_ps(panel + t * 32 + 16, _mm512_maskz_loadu_ps(mh, src + 16));
            }
            continue;
        }
        // Runs of lanes sharing an output row.
        int run_lane[33], run_count = 0, run_i[33], run_j[33];
        {
            int i = (int)(first / ow), j = (int)(first % ow);
            for (int lane = 0; lane < live; i++, j = 0) {
                const int length = ck_min(ow - j, live - lane);
                run_lane[run_count] = lane;
                run_i[run_count] = i;
                run_j[run_count] = j;
                run_count++;
                lane += length;
            }
            run_lane[run_count] = live;
        }
        // One entry per (tap r·S+s, run) whose lanes are not all padding: the offset of
        // the source of lane 0 within a channel and the lane mask. Built once per panel,
        // reused by every channel of the depth block.
        enum { MAX_ENTRIES = 640 };
        if (run_count * R * S > MAX_ENTRIES) {
            pack_runs_slow(p, input, q0, depth, panel, run_count, run_lane, run_i, run_j, ramp_sw);
            continue;
        }
        ptrdiff_t offset[MAX_ENTRIES];
        unsigned mask[MAX_ENTRIES];
        int tap_first[MAX_ENTRIES / 1 + 1];  // entries of tap rs: [tap_first[rs], tap_first[rs + 1])
        int entries = 0;
        for (int r = 0; r < R; r++) {
            for (int s = 0; s < S; s++) {
                tap_first[r * S + s] = entries;
                const int dr = r * p->dilation_height, ds = s * p->dilation_width;
                for (int k = 0; k < run_count; k++) {
                    const int ih = run_i[k] * sh - p->pad_top + dr;
                    if (ih < 0 || ih >= height) continue;
                    const int lane = run_lane[k], count = run_lane[k + 1] - lane;
                    const int col0 = run_j[k] * sw - p->pad_left + ds;
                    int from, to;
                    ck_run_lanes(col0, lane, count, sw, width, &from, &to);
                    if (from >= to) continue;
                    mask[entries] = (unsigned)(((to >= 32 ? 0xFFFFFFFFull : (1ull << to) - 1)) & ~((1ull << from) - 1));
                    offset[entries] = (ptrdiff_t)ih * width + col0 - (ptrdiff_t)lane * sw;
                    entries++;
                }
            }
        }
        tap_first[R * S] = entries;
        const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
        int c = q0 / (R * S), rs = q0 % (R * S);
        for (int t = 0; t < depth; t++) {
            const float *channel = input + (ptrdiff_t)c * plane;
            __m512 lo = _mm512_setzero_ps(), hi = _mm512_setzero_ps();
            const int e1 = tap_first[rs + 1];
            if (sw == 1) {
                for (int e = tap_first[rs]; e < e1; e++) {
                    const float *base = channel + offset[e];
                    lo = _mm512_mask_loadu_ps(lo, (__mmask16)mask[e], base);
                    hi = _mm512_mask_loadu_ps(hi, (__mmask16)(mask[e] >> 16), base + 16);
                }
            } else if (sw == 2) {
                // Lane L reads base[2L]: zero-masked loads of the even source cells, then
                // a permute picks them; pdep spreads the lane mask onto even cells.
                for (int e = tap_first[rs]; e < e1; e++) {
                    const float *base = channel + offset[e];
                    const unsigned m = mask[e];
                    if (m & 0xFFFF) {
                        const unsigned src = _pdep_u32(m & 0xFFFF, 0x55555555u);
                        const __m512 a = _mm512_maskz_loadu_ps((__mmask16)src, base);
                        const __m512 b = _mm512_maskz_loadu_ps((__mmask16)(src >> 16), base + 16);
                        lo = _mm512_mask_mov_ps(lo, (__mmask16)m, _mm512_permutex2var_ps(a, even, b));
                    }
                    if (m >> 16) {
                        const unsigned src = _pdep_u32(m >> 16, 0x55555555u);
                        const __m512 a = _mm512_maskz_loadu_ps((__mmask16)src, base + 32);
                        const __m512 b = _mm512_maskz_loadu_ps((__mmask16)(src >> 16), base + 48);
                        hi = _mm512_mask_mov_ps(hi, (__mmask16)(m >> 16), _mm512_permutex2var_ps(a, even, b));
                    }
                }
            } else {
                for (int e = tap_first[rs]; e < e1; e++) {
                    const float *base = channel + offset[e];
                    const unsigned m = mask[e];
                    if (m & 0xFFFF) lo = _mm512_mask_i32gather_ps(lo, (__mmask16)m, ramp_sw, base, 4);
                    if (m >> 16) hi = _mm512_mask_i32gather_ps(hi, (__mmask16)(m >> 16), ramp_sw, base + 16 * sw, 4);
                }
            }
            _mm512_store_ps(panel + t * 32, lo);
            _mm512_store_ps(panel + t * 32 + 16, hi);
            if (++rs == R * S) {
                rs = 0;
                c++;
            }
        }
    }
}

// Scalar packing to 32-column panels for the other borders.
static void pack32_generic(const ck_conv_plane *p, const float *input, int q0, int depth,
                           ptrdiff_t p0, int columns, float *packed) {
    // Two 16-column packs side by side would interleave wrongly; pack lane by lane.
    const int height = p->input_height, width = p->input_width;
    const int R = p->kernel_height, S = p->kernel_width, ow = p->output_width;
    const ptrdiff_t plane = (ptrdiff_t)height * width;
    for (int start = 0; start < columns; start += 32) {
        const int live = ck_min(32, columns - start);
        float *panel = packed + (ptrdiff_t)start * depth;
        int c = q0 / (R * S), r = q0 / S % R, s = q0 % S;
        for (int t = 0; t < depth; t++) {
            const float *channel = input + (ptrdiff_t)c * plane;
            float *dst = panel + t * 32;
            for (int lane = 0; lane < 32; lane++) {
                float v = 0.0f;
                if (lane < live) {
                    const ptrdiff_t pix = p0 + start + lane;
                    const int i = (int)(pix / ow), j = (int)(pix % ow);
                    const int ih = ck_border_index(i * p->stride_height - p->pad_top + r * p->dilation_height, height, p->border);
                    const int iw = ck_border_index(j * p->stride_width - p->pad_left + s * p->dilation_width, width, p->border);
                    if (ih >= 0 && iw >= 0) v = channel[(ptrdiff_t)ih * width + iw];
                }
                dst[lane] = v;
            }
            if (++s == S) {
                s = 0;
                if (++r == R) {
                    r = 0;
                    c++;
                }
            }
        }
    }
}

void ck_pack32(const ck_conv_plane *plane, const float *input, int q0, int depth, ptrdiff_t p0, int columns,
               float *packed) {
    if (plane->border == CK_BORDER_ZEROS) pack32_avx512(plane, input, q0, depth, p0, columns, packed);
    else pack32_generic(plane, input, q0, depth, p0, columns, packed);
}
#endif

int ck_has_avx512(void) {
#if CK_X86
    static int cached = -1;
    if (cached < 0) {
        cached = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq")
            && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("bmi2") && ck_has_avx2_fma();
        if (getenv("CONVKIT_NO_AVX512")) cached = 0;
    }
    return cached;
#else
    return 0;
#endif
}

void ck_gemm_shape(int *mr, int *nr) {
    if (ck_has_avx512()) {
        *mr = 8;
        *nr = 32;
    } else {
        *mr = 6;
        *nr = 16;
    }
}

size_t ck_conv_gemm_workspace(void) { return (size_t)KC * NC; }

ck_tile_fn ck_select_tile(int *mr, int *nr) {
    ck_gemm_shape(mr, nr);
#if CK_X86
    if (*nr == 32) return tile_avx512_any;
    if (ck_has_avx2_fma()) return tile_avx2;
#endif
    return tile_portable;
}

size_t ck_gemm_packed_weights_floats(ptrdiff_t rows, ptrdiff_t depth, ptrdiff_t pixels) {
    // Only the AVX-512 tiles read packed weights; elsewhere they stay in place.
    if (!ck_has_avx512()) return 0;
    if (ck_gemm_filter_vectors(pixels, rows, depth)) return ck_fv_packed_floats(rows, depth);
    return (size_t)((rows + 7) / 8) * 8 * (size_t)depth;
}

void ck_pack_gemm_weights(const float *weights, ptrdiff_t rows, ptrdiff_t depth, ptrdiff_t pixels, float *packed) {
    if (ck_gemm_filter_vectors(pixels, rows, depth)) {
        ck_fv_pack_weights(weights, rows, depth, packed);
        return;
    }
    for (ptrdiff_t k = 0; k < rows; k += 8) {
        float *tile = packed + k * depth;
        for (int i = 0; i < 8; i++) {
            // Rows past the last repeat it, as the in-place tile does; never stored.
            const float *row = weights + ck_min((int)(k + i), (int)rows - 1) * depth;
            for (ptrdiff_t p = 0; p < depth; p++) tile[8 * p + i] = row[p];
        }
    }
}

void ck_conv_gemm_block(const ck_conv_plane *plane, const float *input, const float *weights, ptrdiff_t depth,
                        const float *packed_weights, ptrdiff_t filters, const float *bias, float *output,
                        ptrdiff_t pixels, int k0, int k1, ptrdiff_t p0, ptrdiff_t p1, const ck_epilogue *epilogue) {
    if (packed_weights && ck_gemm_filter_vectors(pixels, filters, depth)) {
        ck_fv_gemm_block(plane, input, depth, packed_weights, filters, bias, output, pixels, k0, k1, p0, p1, epilogue);
        return;
    }
    if (epilogue && epilogue->code == CK_ACT_IDENTITY) epilogue = NULL;
    int mr, nr;
    ck_gemm_shape(&mr, &nr);
    tile_fn tile = tile_portable;
    int wide = 0;
#if CK_X86
    if (nr == 32) {
        tile = tile_avx512_any;
        wide = 1;
    } else if (ck_has_avx2_fma()) {
        tile = tile_avx2;
    }
#endif
    float *packed = ck_thread_workspace(ck_conv_gemm_workspace());
    if (!packed) abort();
    for (ptrdiff_t pc = p0; pc < p1; pc += NC) {
        const int cols = (int)(p1 - pc < NC ? p1 - pc : NC);
        for (ptrdiff_t q0 = 0; q0 < depth; q0 += KC) {
            const int kc = (int)(depth - q0 < KC ? depth - q0 : KC);
#if CK_X86
            if (wide) ck_pack32(plane, input, (int)q0, kc, pc, cols, packed);
            else
#endif
                ck_pack_im2col(plane, input, (int)q0, kc, pc, cols, packed);
            const int accumulate = q0 > 0;
            const ck_epilogue *act = q0 + kc == depth ? epilogue : NULL;
            for (int m0 = k0; m0 < k1; m0 += MC) {
                const int m1 = ck_min(k1, m0 + MC);
                for (int j = 0; j < cols; j += nr) {
                    const float *panel = packed + (ptrdiff_t)j * kc;
                    const int tc = ck_min(nr, cols - j);
#if CK_X86
                    if (packed_weights && wide && packed_tail_fits(tc)) {
                        const int tiles = (m1 - m0 + mr - 1) / mr, last_rows = m1 - m0 - (tiles - 1) * mr;
                        tile_avx512_packed_tail(kc, packed_weights + (ptrdiff_t)m0 * depth + q0 * 8, 8 * depth, tiles,
                                                last_rows, panel, output + (ptrdiff_t)m0 * pixels + pc + j, pixels, tc,
                                                accumulate ? NULL : (bias ? bias + m0 : NULL), accumulate, act);
                        continue;
                    }
                    if (packed_weights && wide) {
                        for (int k = m0; k < m1; k += mr) {
                            tile_avx512_packed(kc, packed_weights + (ptrdiff_t)k * depth + q0 * 8, panel,
                                               output + (ptrdiff_t)k * pixels + pc + j, pixels, ck_min(mr, m1 - k), tc,
                                               accumulate ? NULL : (bias ? bias + k : NULL), accumulate, act);
                        }
                        continue;
                    }
#endif
                    for (int k = m0; k < m1; k += mr) {
                        tile(kc, weights + (ptrdiff_t)k * depth + q0, depth, panel, output + (ptrdiff_t)k * pixels + pc + j,
                             pixels, ck_min(mr, m1 - k), tc, accumulate ? NULL : (bias ? bias + k : NULL), accumulate,
                             act);
                    }
                }
            }
        }
    }
}
