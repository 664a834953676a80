#include "internal.h"
#include <stdlib.h>

// The implicit GEMM turned around for small maps, on prepacked weights: vector lanes hold
// 16 filters and a pixel's im2col value is broadcast. The 8×32 tile (filters broadcast,
// pixels in lanes) splits a 7×7 map into a 32-column panel and a 17-column one, which runs
// a half tile and a one-column tail at 9 loads per 8 FMAs; here a tile is 64 filters × 6
// pixels (24 accumulators, 4 weight loads and 6 broadcasts per 24 FMAs; 7 pixels would
// need 33 registers and spilled), and a panel splits into tiles of ≤ 6 pixels with no idle
// lane. Its weights are read once per pixel tile, so the taps go in slices of 64 whose
// 16 KB of weights stay in L1 for every tile. Alternating runs, 2 threads, median ms,
// 8×32 → this: 3×3 512@7 1.42 → 1.24, 3×3 s2 512@14 1.49 → 1.30, 1×1 2048→512@7 0.61 →
// 0.53, 1×1 512→2048@7 0.60 → 0.55; on 14×14 maps it only ties (1×1 256→1024, whose 256
// taps leave the transposition a large share, 0.49 → 0.55), hence `ck_gemm_filter_vectors`.
//
// Accumulators come out pixel-major, so each task keeps its rectangle of C transposed in a
// per-thread scratch (`[pixel][filter]`: a depth block's running sum and the total) and
// writes C[filter][pixel] once, after the last depth block, 16×16 at a time. Each output
// is the 8×32 tile's sum bit for bit: a depth block's taps in order from zero (a slice
// continues the previous one's chain), the first block plus bias, later blocks added to
// it, then the epilogue.

enum { FV_FILTERS = 64, FV_PIXELS = 6, FV_SLICE = 64, FV_BLOCK_PIXELS = 256 };

// Maps of ≤ 64 pixels (7×7, 8×8), or of ≤ 256 where ≥ 1024 taps make the transposition
// a small share; at least 64 filters, so most tiles hold 4 vectors.
int ck_gemm_filter_vectors(ptrdiff_t pixels, ptrdiff_t filters, ptrdiff_t depth) {
    if (!ck_has_avx512()) return 0;
    return filters >= 64 && (pixels <= 64 || (pixels <= FV_BLOCK_PIXELS && depth >= 1024));
}

static ptrdiff_t round16(ptrdiff_t n) { return (n + 15) / 16 * 16; }

size_t ck_fv_packed_floats(ptrdiff_t rows, ptrdiff_t depth) { return (size_t)(round16(rows) * depth); }

// Block b holds filters [64b, 64b + 64) (fewer in the last): per tap, their weights side by
// side in `16·vectors` floats, zero past the last filter (those lanes are never stored).
static ptrdiff_t fv_block_vectors(ptrdiff_t rows, ptrdiff_t block) {
    const ptrdiff_t left = round16(rows) / 16 - block * (FV_FILTERS / 16);
    return left < FV_FILTERS / 16 ? left : FV_FILTERS / 16;
}

void ck_fv_pack_weights(const float *weights, ptrdiff_t rows, ptrdiff_t depth, float *packed) {
    for (ptrdiff_t block = 0; block * FV_FILTERS < rows; block++) {
        const ptrdiff_t width = 16 * fv_block_vectors(rows, block), first = block * FV_FILTERS;
        float *dst = packed + first * depth;
        for (ptrdiff_t q = 0; q < depth; q++) {
            for (ptrdiff_t i = 0; i < width; i++) {
                dst[q * width + i] = first + i < rows ? weights[(first + i) * depth + q] : 0.0f;
            }
        }
    }
}

#if CK_X86
// NF filter vectors × W pixels over `kc` taps: weights of tap q at w + q·ws, pixel e's value
// at b[32q + e] (a 32-column im2col panel). Pixel e's filters sit at `e·ldt` in the two
// transposed scratch areas: `part`, a depth block's running sum (continued when `resume`,
// left there unless `finish`), and `total`, which a finished block's sum enters as
// `sum + bias` (`live` filters real) in the first depth block or `total + sum` in later ones.
CK_AVX512 static inline __attribute__((always_inline)) void fv_tile(
    const int NF, const int W, int kc, const float *w, ptrdiff_t ws, const float *b, float *part, float *total,
    ptrdiff_t ldt, int resume, int finish, int accumulate, const float *bias, int live) {
    __m512 acc[FV_PIXELS][FV_FILTERS / 16];
#pragma clang loop unroll(full)
    for (int e = 0; e < W; e++) {
#pragma clang loop unroll(full)
        for (int f = 0; f < NF; f++) acc[e][f] = resume ? _mm512_loadu_ps(part + e * ldt + 16 * f) : _mm512_setzero_ps();
    }
    for (int q = 0; q < kc; q++) {
        __m512 wv[FV_FILTERS / 16];
#pragma clang loop unroll(full)
        for (int f = 0; f < NF; f++) wv[f] = _mm512_loadu_ps(w + q * ws + 16 * f);
#pragma clang loop unroll(full)
        for (int e = 0; e < W; e++) {
            const __m512 x = _mm512_set1_ps(b[32 * q + e]);
#pragma clang loop unroll(full)
            for (int f = 0; f < NF; f++) acc[e][f] = _mm512_fmadd_ps(wv[f], x, acc[e][f]);
        }
    }
#pragma clang loop unroll(full)
    for (int f = 0; f < NF; f++) {
        __m512 bv = _mm512_setzero_ps();
        if (finish && bias && !accumulate) {
            const int lanes = ck_max(0, ck_min(16, live - 16 * f));
            bv = _mm512_maskz_loadu_ps((__mmask16)((1u << lanes) - 1), bias + 16 * f);
        }
#pragma clang loop unroll(full)
        for (int e = 0; e < W; e++) {
            __m512 v = acc[e][f];
            if (!finish) {
                _mm512_storeu_ps(part + e * ldt + 16 * f, v);
                continue;
            }
            float *dst = total + e * ldt + 16 * f;
            if (accumulate) v = _mm512_add_ps(_mm512_loadu_ps(dst), v);
            else if (bias) v = _mm512_add_ps(v, bv);
            _mm512_storeu_ps(dst, v);
        }
    }
}

#define FV_W(NF, W) case W: fv_tile(NF, W, kc, w, ws, b, part, total, ldt, resume, finish, accumulate, bias, live); break;
#define FV_NF(NF)                                                                          \
    case NF:                                                                               \
        switch (pixels) { FV_W(NF, 1) FV_W(NF, 2) FV_W(NF, 3) FV_W(NF, 4) FV_W(NF, 5) FV_W(NF, 6) } \
        break;

CK_AVX512 static void fv_tile_any(int vectors, int pixels, int kc, const float *w, ptrdiff_t ws, const float *b,
                                  float *part, float *total, ptrdiff_t ldt, int resume, int finish, int accumulate,
                                  const float *bias, int live) {
    switch (vectors) { FV_NF(1) FV_NF(2) FV_NF(3) FV_NF(4) }
}
#undef FV_W
#undef FV_NF

CK_AVX512 void ck_fv_write(const float *t, ptrdiff_t ldt, int cols, int count, float *c, ptrdiff_t pixels,
                           const ck_epilogue *epilogue) {
    const int in_registers = ck_epilogue_in_registers(epilogue), after_store = ck_epilogue_after_store(epilogue);
    for (int p0 = 0; p0 < cols; p0 += 16) {
        const int n = ck_min(16, cols - p0);
        const __mmask16 mask = (__mmask16)((1u << n) - 1);
        for (int f0 = 0; f0 < count; f0 += 16) {
            __m512 r[16];
            for (int i = 0; i < 16; i++) r[i] = _mm512_loadu_ps(t + (ptrdiff_t)(p0 + i) * ldt + f0);
            ck_transpose16(r);
            for (int f = 0; f < ck_min(16, count - f0); f++) {
                float *row = c + (ptrdiff_t)(f0 + f) * pixels + p0;
                _mm512_mask_storeu_ps(row, mask, in_registers ? ck_activate_avx512(epilogue, r[f]) : r[f]);
                if (after_store) ck_apply_epilogue(epilogue, row, n);
            }
        }
    }
}

size_t ck_fv_workspace(void) { return (size_t)CK_GEMM_KC * FV_BLOCK_PIXELS; }

void ck_fv_gemm_block(const ck_conv_plane *plane, const float *input, ptrdiff_t depth, const float *packed_weights,
                      ptrdiff_t filters, const float *bias, float *output, ptrdiff_t pixels, int k0, int k1,
                      ptrdiff_t p0, ptrdiff_t p1, const ck_epilogue *epilogue) {
    const int kc_max = CK_GEMM_KC, nc_max = FV_BLOCK_PIXELS;
    // The scratch holds one area of `nc_max` pixels × 64 filters per packed filter block the
    // task touches (the totals), plus one for the running sum of the block being computed.
    // Areas, not one row of all the task's filters per pixel: rows 4–8 KB apart (1024–2048
    // filters) put every pixel of a tile in the same L1 sets.
    const ptrdiff_t ldt = FV_FILTERS, area = (ptrdiff_t)nc_max * FV_FILTERS;
    const int first_block = k0 / FV_FILTERS, blocks = (k1 - 1) / FV_FILTERS - first_block + 1;
    float *packed = ck_thread_workspace(ck_fv_workspace());
    float *scratch = ck_thread_scratch((size_t)((blocks + 1) * area));
    if (!packed || !scratch) abort();
    float *part = scratch, *totals = scratch + area;
    for (ptrdiff_t pc = p0; pc < p1; pc += nc_max) {
        const int cols = (int)(p1 - pc < nc_max ? p1 - pc : nc_max);
        for (ptrdiff_t q0 = 0; q0 < depth; q0 += kc_max) {
            const int kc = (int)(depth - q0 < kc_max ? depth - q0 : kc_max);
            ck_pack32(plane, input, (int)q0, kc, pc, cols, packed);
            const int accumulate = q0 > 0;
            // Tiles stay inside one packed block of 64 filters: its vectors share a tap's row.
            for (int k = k0; k < k1;) {
                const ptrdiff_t block = k / FV_FILTERS, vectors = fv_block_vectors(filters, block);
                const ptrdiff_t ws = 16 * vectors, first = block * FV_FILTERS;
                const int end = (int)(first + ws < k1 ? first + ws : k1);
                const int count = (int)((end - k + 15) / 16);
                const float *w = packed_weights + first * depth + q0 * ws + (k - first);
                // Slices of FV_SLICE taps: the block's weights of a slice (16 KB) stay in L1
                // while every pixel tile reads them.
                for (int s0 = 0; s0 < kc; s0 += FV_SLICE) {
                    const int sk = ck_min(FV_SLICE, kc - s0), finish = s0 + sk == kc;
                    for (int j = 0; j < cols; j += 32) {
                        const int live = ck_min(32, cols - j);
                        for (int e = 0; e < live; e += FV_PIXELS) {
                            const ptrdiff_t at = (ptrdiff_t)(j + e) * ldt + (k - first);
                            fv_tile_any(count, ck_min(FV_PIXELS, live - e), sk, w + s0 * ws, ws,
                                        packed + (ptrdiff_t)j * kc + s0 * 32 + e, part + at,
                                        totals + (block - first_block) * area + at, ldt, s0 > 0,
                                        finish, accumulate, bias ? bias + k : NULL, end - k);
                        }
                    }
                }
                k = end;
            }
        }
        for (int b = 0; b < blocks; b++) {
            const int from = ck_max(k0, (first_block + b) * FV_FILTERS);
            const int to = ck_min(k1, (first_block + b + 1) * FV_FILTERS);
            ck_fv_write(totals + b * area + from % FV_FILTERS, ldt, cols, to - from,
                        output + (ptrdiff_t)from * pixels + pc, pixels,
                        epilogue && epilogue->code != CK_ACT_IDENTITY ? epilogue : NULL);
        }
    }
}
#else
void ck_fv_gemm_block(const ck_conv_plane *plane, const float *input, ptrdiff_t depth, const float *packed_weights,
                      ptrdiff_t filters, const float *bias, float *output, ptrdiff_t pixels, int k0, int k1,
                      ptrdiff_t p0, ptrdiff_t p1, const ck_epilogue *epilogue) {
    (void)plane, (void)input, (void)depth, (void)packed_weights, (void)filters, (void)bias, (void)output;
    (void)pixels, (void)k0, (void)k1, (void)p0, (void)p1, (void)epilogue;
    abort();
}
#endif
