#include "internal.h"
#include <string.h>

// Output columns [lo, hi) whose every tap column lies inside the input; only these
// take the unchecked vector path.
static void interior_columns(const ck_conv_plane *p, int *lo, int *hi) {
    const int first = (p->pad_left + p->stride_width - 1) / p->stride_width;
    const int numerator = p->input_width - 1 - (p->kernel_width - 1) * p->dilation_width + p->pad_left;
    const int last = numerator < 0 ? -1 : numerator / p->stride_width;
    *lo = ck_min(first, p->output_width);
    *hi = ck_max(ck_min(last + 1, p->output_width), *lo);
}

// Kernel rows [first, last) of output row i that land inside the input. Taps in the
// padding are skipped, not multiplied by zero, so an Inf weight next to the border
// gives what the reference gives. Other borders read a mapped row for every tap.
static void live_rows(const ck_conv_plane *p, int i, int *first, int *last) {
    if (p->border != CK_BORDER_ZEROS) {
        *first = 0;
        *last = p->kernel_height;
        return;
    }
    const int top = i * p->stride_height - p->pad_top;
    const int dh = p->dilation_height;
    int r0 = top >= 0 ? 0 : (-top + dh - 1) / dh;
    const int bottom = p->input_height - 1 - top;
    int r1 = bottom < 0 ? 0 : bottom / dh + 1;
    r1 = ck_min(r1, p->kernel_height);
    *first = ck_min(r0, r1);
    *last = r1;
}

// The input row kernel row r of output row i reads (a live row for zeros, mapped otherwise).
static inline int tap_row(const ck_conv_plane *p, int i, int r) {
    const int ih = i * p->stride_height - p->pad_top + r * p->dilation_height;
    return p->border == CK_BORDER_ZEROS ? ih : ck_border_index(ih, p->input_height, p->border);
}

static float point(const ck_conv_plane *p, const float *input, const float *weights, int i, int j,
                   int first, int last, float acc) {
    for (int r = first; r < last; r++) {
        const float *line = input + (ptrdiff_t)tap_row(p, i, r) * p->input_width;
        const float *w = weights + r * p->kernel_width;
        for (int s = 0; s < p->kernel_width; s++) {
            const int iw = ck_border_index(j * p->stride_width - p->pad_left + s * p->dilation_width,
                                           p->input_width, p->border);
            if (iw >= 0) acc += w[s] * line[iw];
        }
    }
    return acc;
}

static void plane_portable(const ck_conv_plane *p, const float *input, const float *weights,
                           float *output, float initial, int accumulate, const ck_epilogue *epilogue) {
    for (int i = 0; i < p->output_height; i++) {
        int first, last;
        live_rows(p, i, &first, &last);
        float *out = output + (ptrdiff_t)i * p->output_width;
        for (int j = 0; j < p->output_width; j++) {
            out[j] = ck_activate(epilogue, point(p, input, weights, i, j, first, last, accumulate ? out[j] : initial));
        }
    }
}

#if CK_X86
CK_AVX2 static void plane_avx2(const ck_conv_plane *p, const float *input, const float *weights,
                               float *output, float initial, int accumulate, const ck_epilogue *epilogue) {
    const int in_registers = ck_epilogue_in_registers(epilogue);
    const int after_store = ck_epilogue_after_store(epilogue);
    int lo, hi;
    interior_columns(p, &lo, &hi);
    const int sw = p->stride_width;
    const __m256i ramp = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    const __m256i lanes = _mm256_mullo_epi32(ramp, _mm256_set1_epi32(sw));
    for (int i = 0; i < p->output_height; i++) {
        int first, last;
        live_rows(p, i, &first, &last);
        float *out = output + (ptrdiff_t)i * p->output_width;
        for (int j = 0; j < lo; j++) {
            out[j] = ck_activate(epilogue, point(p, input, weights, i, j, first, last, accumulate ? out[j] : initial));
        }
        // Four independent 8-wide accumulators: one chain of dependent FMAs would wait
        // on the FMA latency (4 cycles) at every tap. Lanes past the interior are masked
        // rather than overlapped, because accumulating twice into one output is wrong.
        for (int j = lo; j < hi; j += 32) {
            const __m256i m0 = _mm256_cmpgt_epi32(_mm256_set1_epi32(hi - j), ramp);
            const __m256i m1 = _mm256_cmpgt_epi32(_mm256_set1_epi32(hi - j - 8), ramp);
            const __m256i m2 = _mm256_cmpgt_epi32(_mm256_set1_epi32(hi - j - 16), ramp);
            const __m256i m3 = _mm256_cmpgt_epi32(_mm256_set1_epi32(hi - j - 24), ramp);
            const __m256 start = _mm256_set1_ps(initial);
            const int full = hi - j >= 32;
            __m256 a0 = accumulate ? _mm256_maskload_ps(out + j, m0) : start;
            __m256 a1 = accumulate ? _mm256_maskload_ps(out + j + 8, m1) : start;
            __m256 a2 = accumulate ? _mm256_maskload_ps(out + j + 16, m2) : start;
            __m256 a3 = accumulate ? _mm256_maskload_ps(out + j + 24, m3) : start;
            for (int r = first; r < last; r++) {
                const float *line = input + (ptrdiff_t)tap_row(p, i, r) * p->input_width + j * sw - p->pad_left;
                const float *w = weights + r * p->kernel_width;
                // Two loops so the stride test stays out of the tap loop and the four
                // accumulators stay in registers.
                if (sw == 1 && full) {
                    // Masked loads cost several times a plain one; full blocks skip them.
                    for (int s = 0; s < p->kernel_width; s++) {
                        const float *at = line + s * p->dilation_width;
                        const __m256 wv = _mm256_set1_ps(w[s]);
                        a0 = _mm256_fmadd_ps(wv, _mm256_loadu_ps(at), a0);
                        a1 = _mm256_fmadd_ps(wv, _mm256_loadu_ps(at + 8), a1);
                        a2 = _mm256_fmadd_ps(wv, _mm256_loadu_ps(at + 16), a2);
                        a3 = _mm256_fmadd_ps(wv, _mm256_loadu_ps(at + 24), a3);
                    }
                } else if (sw == 1) {
                    for (int s = 0; s < p->kernel_width; s++) {
                        const float *at = line + s * p->dilation_width;
                        const __m256 wv = _mm256_set1_ps(w[s]);
                        a0 = _mm256_fmadd_ps(wv, _mm256_maskload_ps(at, m0), a0);
                        a1 = _mm256_fmadd_ps(wv, _mm256_maskload_ps(at + 8, m1), a1);
                        a2 = _mm256_fmadd_ps(wv, _mm256_maskload_ps(at + 16, m2), a2);
                        a3 = _mm256_fmadd_ps(wv, _mm256_maskload_ps(at + 24, m3), a3);
                    }
                } else {
                    const __m256 zero = _mm256_setzero_ps();
                    for (int s = 0; s < p->kernel_width; s++) {
                        const float *at = line + s * p->dilation_width;
                        const __m256 wv = _mm256_set1_ps(w[s]);
                        a0 = _mm256_fmadd_ps(wv, _mm256_mask_i32gather_ps(zero, at, lanes, _mm256_castsi256_ps(m0), 4), a0);
                        a1 = _mm256_fmadd_ps(wv, _mm256_mask_i32gather_ps(zero, at + 8 * sw, lanes, _mm256_castsi256_ps(m1), 4), a1);
                        a2 = _mm256_fmadd_ps(wv, _mm256_mask_i32gather_ps(zero, at + 16 * sw, lanes, _mm256_castsi256_ps(m2), 4), a2);
                        a3 = _mm256_fmadd_ps(wv, _mm256_mask_i32gather_ps(zero, at + 24 * sw, lanes, _mm256_castsi256_ps(m3), 4), a3);
                    }
                }
            }
            if (in_registers) {
                a0 = ck_activate_avx2(epilogue, a0);
                a1 = ck_activate_avx2(epilogue, a1);
                a2 = ck_activate_avx2(epilogue, a2);
                a3 = ck_activate_avx2(epilogue, a3);
            }
            _mm256_maskstore_ps(out + j, m0, a0);
            _mm256_maskstore_ps(out + j + 8, m1, a1);
            _mm256_maskstore_ps(out + j + 16, m2, a2);
            _mm256_maskstore_ps(out + j + 24, m3, a3);
            // sigmoid/tanh: the C library on the (up to) 32 values just stored.
            if (after_store) ck_apply_epilogue(epilogue, out + j, ck_min(32, hi - j));
        }
        for (int j = hi; j < p->output_width; j++) {
            out[j] = ck_activate(epilogue, point(p, input, weights, i, j, first, last, accumulate ? out[j] : initial));
        }
    }
}

// Zero border, any stride/dilation: every column (edges included) is vector code. Taps
// in the padding are masked out of the FMA (not multiplied by zero), so an Inf weight
// next to the border gives what the reference gives. Four 16-lane accumulators per
// 64 output columns hide the FMA latency.
enum { DW_MAX_S = 16 };
CK_AVX512 static void plane_avx512(const ck_conv_plane *p, const float *input, const float *weights,
                                   float *output, float initial, int accumulate, const ck_epilogue *epilogue) {
    const int in_registers = ck_epilogue_in_registers(epilogue);
    const int after_store = ck_epilogue_after_store(epilogue);
    const int ow = p->output_width, width = p->input_width, S = p->kernel_width;
    const int sw = p->stride_width, dw = p->dilation_width, pl = p->pad_left;
    const __m512i ramp = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    const __m512i ramp_sw = _mm512_mullo_epi32(ramp, _mm512_set1_epi32(sw));
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512 start = _mm512_set1_ps(initial);
    for (int j0 = 0; j0 < ow; j0 += 64) {
        // Lane masks of the four blocks: output lanes inside the row, and per tap column s
        // the lanes whose input column is inside.
        __mmask16 out_mask[4];
        __mmask16 tap_mask[4][DW_MAX_S];
        ptrdiff_t tap_offset[4][DW_MAX_S];
        int blocks = 0;
        for (int b = 0; b < 4; b++) {
            const int j = j0 + 16 * b;
            if (j >= ow) break;
            blocks = b + 1;
            const int live = ck_min(16, ow - j);
            out_mask[b] = (__mmask16)(live >= 16 ? 0xFFFF : (1u << live) - 1);
            const __m512i cols = _mm512_add_epi32(_mm512_set1_epi32(j * sw - pl), ramp_sw);
            for (int s = 0; s < S; s++) {
                const __m512i col = _mm512_add_epi32(cols, _mm512_set1_epi32(s * dw));
                const __mmask16 inside = _mm512_cmpge_epi32_mask(col, _mm512_setzero_si512())
                    & _mm512_cmplt_epi32_mask(col, _mm512_set1_epi32(width));
                tap_mask[b][s] = inside & out_mask[b];
                tap_offset[b][s] = (ptrdiff_t)j * sw - pl + s * dw;
            }
        }
        for (int i = 0; i < p->output_height; i++) {
            int first, last;
            live_rows(p, i, &first, &last);
            float *out = output + (ptrdiff_t)i * ow + j0;
            __m512 acc[4];
            for (int b = 0; b < 4; b++) {
                acc[b] = accumulate && b < blocks ? _mm512_maskz_loadu_ps(out_mask[b], out + 16 * b) : start;
            }
            for (int r = first; r < last; r++) {
                const float *line = input + (ptrdiff_t)tap_row(p, i, r) * width;
                const float *w = weights + r * S;
                for (int s = 0; s < S; s++) {
                    const __m512 wv = _mm512_set1_ps(w[s]);
                    for (int b = 0; b < blocks; b++) {
                        const __mmask16 m = tap_mask[b][s];
                        if (!m) continue;
                        const float *at = line + tap_offset[b][s];
                        __m512 x;
                        if (sw == 1) {
                            x = _mm512_maskz_loadu_ps(m, at);
                        } else if (sw == 2) {
                            const unsigned src = _pdep_u32(m, 0x55555555u);
                            const __m512 lo = _mm512_maskz_loadu_ps((__mmask16)src, at);
                            const __m512 hi = _mm512_maskz_loadu_ps((__mmask16)(src >> 16), at + 16);
                            x = _mm512_permutex2var_ps(lo, even, hi);
                        } else {
                            x = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), m, ramp_sw, at, 4);
                        }
                        acc[b] = _mm512_mask3_fmadd_ps(wv, x, acc[b], m);
                    }
                }
            }
            for (int b = 0; b < blocks; b++) {
                __m512 v = acc[b];
                if (in_registers) v = ck_activate_avx512(epilogue, v);
                _mm512_mask_storeu_ps(out + 16 * b, out_mask[b], v);
                if (after_store) ck_apply_epilogue(epilogue, out + 16 * b, ck_min(16, ow - j0 - 16 * b));
            }
        }
    }
}

// Depthwise planes [first, last) of N·K (one input channel per group). The work of a
// plane is a list of units (output row i, 16-column block b) taken four at a time, so
// even a 7×7 map keeps four independent FMA chains; column masks are built once per call
// and the stride is a compile-time constant of each unit loop.
enum { DW_MAX_BLOCKS = 64 };
typedef struct dw_masks {
    int blocks;
    __mmask16 out_mask[DW_MAX_BLOCKS];
    __mmask16 tap_mask[DW_MAX_BLOCKS][DW_MAX_S];
    int tap_offset[DW_MAX_BLOCKS][DW_MAX_S];
} dw_masks;

CK_AVX512 static void dw_build(const ck_conv_plane *p, dw_masks *mk) {
    const int ow = p->output_width, width = p->input_width, S = p->kernel_width;
    const int sw = p->stride_width, dw = p->dilation_width, pl = p->pad_left;
    const __m512i ramp = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    const __m512i ramp_sw = _mm512_mullo_epi32(ramp, _mm512_set1_epi32(sw));
    mk->blocks = (ow + 15) / 16;
    for (int b = 0; b < mk->blocks; b++) {
        const int j = 16 * b;
        const int live = ck_min(16, ow - j);
        mk->out_mask[b] = (__mmask16)(live >= 16 ? 0xFFFF : (1u << live) - 1);
        const __m512i cols = _mm512_add_epi32(_mm512_set1_epi32(j * sw - pl), ramp_sw);
        for (int s = 0; s < S; s++) {
            const __m512i col = _mm512_add_epi32(cols, _mm512_set1_epi32(s * dw));
            const __mmask16 inside = _mm512_cmpge_epi32_mask(col, _mm512_setzero_si512())
                & _mm512_cmplt_epi32_mask(col, _mm512_set1_epi32(width));
            mk->tap_mask[b][s] = inside & mk->out_mask[b];
            mk->tap_offset[b][s] = j * sw - pl + s * dw;
        }
    }
}

CK_AVX512 static inline __attribute__((always_inline)) __m512 dw_load(const int SW, const float *at, __mmask16 m) {
    if (SW == 1) return _mm512_maskz_loadu_ps(m, at);
    if (SW == 2) {
        const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
        const unsigned src = _pdep_u32(m, 0x55555555u);
        return _mm512_permutex2var_ps(_mm512_maskz_loadu_ps((__mmask16)src, at), even,
                                      _mm512_maskz_loadu_ps((__mmask16)(src >> 16), at + 16));
    }
    const __m512i ramp = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    return _mm512_mask_i32gather_ps(_mm512_setzero_ps(), m, _mm512_mullo_epi32(ramp, _mm512_set1_epi32(SW)), at, 4);
}

CK_AVX512 static inline __attribute__((always_inline)) void dw_plane(const ck_conv_plane *p, const dw_masks *mk,
                                                                     const int SW, const float *input,
                                                                     const float *weights, float *output, float initial,
                                                                     const ck_epilogue *epilogue, int in_registers,
                                                                     int after_store) {
    const int ow = p->output_width, width = p->input_width, height = p->input_height;
    const int R = p->kernel_height, S = p->kernel_width, nb = mk->blocks;
    const int units = p->output_height * nb;
    for (int u0 = 0; u0 < units; u0 += 4) {
        const int nu = ck_min(4, units - u0);
        int row[4], blk[4];
        for (int u = 0; u < 4; u++) {
            const int unit = u0 + ck_min(u, nu - 1);
            row[u] = unit / nb;
            blk[u] = unit % nb;
        }
        __m512 acc0 = _mm512_set1_ps(initial), acc1 = acc0, acc2 = acc0, acc3 = acc0;
        for (int r = 0; r < R; r++) {
            const float *line[4];
            for (int u = 0; u < 4; u++) {
                const int ih = row[u] * p->stride_height - p->pad_top + r * p->dilation_height;
                line[u] = (u < nu && ih >= 0 && ih < height) ? input + (ptrdiff_t)ih * width : NULL;
            }
            const float *w = weights + r * S;
            for (int s = 0; s < S; s++) {
                const __m512 wv = _mm512_set1_ps(w[s]);
#define DW_UNIT(u, acc)                                                                              \
    if (line[u]) {                                                                                   \
        const __mmask16 m = mk->tap_mask[blk[u]][s];                                                 \
        acc = _mm512_mask3_fmadd_ps(wv, dw_load(SW, line[u] + mk->tap_offset[blk[u]][s], m), acc, m); \
    }
                DW_UNIT(0, acc0) DW_UNIT(1, acc1) DW_UNIT(2, acc2) DW_UNIT(3, acc3)
#undef DW_UNIT
            }
        }
        __m512 accs[4] = {acc0, acc1, acc2, acc3};
        for (int u = 0; u < nu; u++) {
            __m512 v = accs[u];
            if (in_registers) v = ck_activate_avx512(epilogue, v);
            float *out = output + (ptrdiff_t)row[u] * ow + 16 * blk[u];
            _mm512_mask_storeu_ps(out, mk->out_mask[blk[u]], v);
            if (after_store) ck_apply_epilogue(epilogue, out, ck_min(16, ow - 16 * blk[u]));
        }
    }
}

// 3×3, undilated: four output rows × one 16-column block at a time, the nine weights in
// registers, and each input row's three shifted vectors loaded once for every output row
// of the quad it feeds (6 rows for stride 1, 9 for stride 2).
CK_AVX512 static inline __attribute__((always_inline)) void dw3_plane(const ck_conv_plane *p, const dw_masks *mk,
                                                                      const int SW, const int SH, const float *input,
                                                                      const float *weights, float *output,
                                                                      float initial, const ck_epilogue *epilogue,
                                                                      int in_registers, int after_store) {
    const int ow = p->output_width, oh = p->output_height, width = p->input_width, height = p->input_height;
    const int pt = p->pad_top, nb = mk->blocks;
    const __m512 w00 = _mm512_set1_ps(weights[0]), w01 = _mm512_set1_ps(weights[1]), w02 = _mm512_set1_ps(weights[2]);
    const __m512 w10 = _mm512_set1_ps(weights[3]), w11 = _mm512_set1_ps(weights[4]), w12 = _mm512_set1_ps(weights[5]);
    const __m512 w20 = _mm512_set1_ps(weights[6]), w21 = _mm512_set1_ps(weights[7]), w22 = _mm512_set1_ps(weights[8]);
    const __m512 start = _mm512_set1_ps(initial);
    for (int i0 = 0; i0 < oh; i0 += 4) {
        for (int b = 0; b < nb; b++) {
            const __mmask16 m0 = mk->tap_mask[b][0], m1 = mk->tap_mask[b][1], m2 = mk->tap_mask[b][2];
            const int off = mk->tap_offset[b][0];
            // aQR: output row i0 + Q, kernel row R: three short FMA chains per output
            // instead of one of nine, all in registers (named, fully unrolled), so the
            // quad is throughput- not latency-bound.
            __m512 a00 = start, a01 = _mm512_setzero_ps(), a02 = a01, a10 = start, a11 = a01, a12 = a01;
            __m512 a20 = start, a21 = a01, a22 = a01, a30 = start, a31 = a01, a32 = a01;
            const int base = i0 * SH - pt;
#define F(q, r)                                                          \
    a##q##r = _mm512_mask3_fmadd_ps(w##r##0, x0, a##q##r, m0);           \
    a##q##r = _mm512_mask3_fmadd_ps(w##r##1, x1, a##q##r, m1);           \
    a##q##r = _mm512_mask3_fmadd_ps(w##r##2, x2, a##q##r, m2);
#define T(t, stmts)                                                                                  \
    {                                                                                                \
        const int ih = base + (t);                                                                   \
        if (ih >= 0 && ih < height) {                                                                \
            const float *line = input + (ptrdiff_t)ih * width + off;                                 \
            const __m512 x0 = dw_load(SW, line, m0), x1 = dw_load(SW, line + 1, m1),                 \
                         x2 = dw_load(SW, line + 2, m2);                                             \
            stmts                                                                                    \
        }                                                                                            \
    }
            // Input row t feeds output q with kernel row r = t − q·SH.
            if (SH == 1) {
                T(0, F(0, 0)) T(1, F(0, 1) F(1, 0)) T(2, F(0, 2) F(1, 1) F(2, 0))
                T(3, F(1, 2) F(2, 1) F(3, 0)) T(4, F(2, 2) F(3, 1)) T(5, F(3, 2))
            } else {
                T(0, F(0, 0)) T(1, F(0, 1)) T(2, F(0, 2) F(1, 0)) T(3, F(1, 1)) T(4, F(1, 2) F(2, 0))
                T(5, F(2, 1)) T(6, F(2, 2) F(3, 0)) T(7, F(3, 1)) T(8, F(3, 2))
            }
#undef T
#undef F
            __m512 acc[4][3] = {{a00, a01, a02}, {a10, a11, a12}, {a20, a21, a22}, {a30, a31, a32}};
            for (int q = 0; q < 4 && i0 + q < oh; q++) {
                __m512 v = _mm512_add_ps(_mm512_add_ps(acc[q][0], acc[q][1]), acc[q][2]);
                if (in_registers) v = ck_activate_avx512(epilogue, v);
                float *out = output + (ptrdiff_t)(i0 + q) * ow + 16 * b;
                _mm512_mask_storeu_ps(out, mk->out_mask[b], v);
                if (after_store) ck_apply_epilogue(epilogue, out, ck_min(16, ow - 16 * b));
            }
        }
    }
}

// Small planes (at most 64 outputs, rows at most 8 wide), stride 1, input width = output
// width (a same-padded map): the plane is walked flat, 16 outputs per vector whatever the
// row length, because output p = (i, j) reads input p + (r·dh − pt)·W + (s·dw − pl) for
// every tap; a per-(block, tap) mask drops lanes whose tap falls off the map. A 7×7 map
// fills 49 of 64 lanes this way instead of 7 of 16 row by row. One chain per block in tap
// order (bias, r, s), as the reference sums.
enum { DW_FLAT_BLOCKS = 4, DW_FLAT_TAPS = 49 };
typedef struct dw_flat {
    int blocks, taps;
    __mmask16 out_mask[DW_FLAT_BLOCKS];
    __mmask16 mask[DW_FLAT_BLOCKS][DW_FLAT_TAPS];
    int offset[DW_FLAT_TAPS];
} dw_flat;

static int dw_flat_fits(const ck_conv_plane *p) {
    return p->stride_height == 1 && p->stride_width == 1 && p->input_width == p->output_width
        && p->output_width <= 8 && p->output_height * p->output_width <= 16 * DW_FLAT_BLOCKS
        && p->kernel_height * p->kernel_width <= DW_FLAT_TAPS;
}

static void dw_flat_build(const ck_conv_plane *p, dw_flat *f) {
    const int ow = p->output_width, pixels = p->output_height * ow, S = p->kernel_width;
    f->blocks = (pixels + 15) / 16;
    f->taps = p->kernel_height * S;
    memset(f->mask, 0, sizeof f->mask);
    for (int b = 0; b < f->blocks; b++) {
        const int live = ck_min(16, pixels - 16 * b);
        f->out_mask[b] = (__mmask16)(live >= 16 ? 0xFFFF : (1u << live) - 1);
    }
    for (int t = 0; t < f->taps; t++) {
        const int dr = (t / S) * p->dilation_height - p->pad_top, ds = (t % S) * p->dilation_width - p->pad_left;
        f->offset[t] = dr * p->input_width + ds;
        for (int b = 0; b < f->blocks; b++) {
            unsigned bits = 0;
            for (int q = 0; q < 16; q++) {
                const int pix = 16 * b + q, i = pix / ow + dr, j = pix % ow + ds;
                if (pix < pixels && i >= 0 && i < p->input_height && j >= 0 && j < p->input_width) bits |= 1u << q;
            }
            f->mask[b][t] = (__mmask16)bits;
        }
    }
}

CK_AVX512 static void dw_flat_plane(const dw_flat *f, const float *input, const float *weights, float *output,
                                    float initial, const ck_epilogue *epilogue, int in_registers, int after_store) {
    // Four named accumulators (an array indexed by the run-time block count was kept on
    // the stack, a store-to-load round trip per FMA); blocks past `blocks` have no lanes.
    __m512 acc0 = _mm512_set1_ps(initial), acc1 = acc0, acc2 = acc0, acc3 = acc0;
    for (int t = 0; t < f->taps; t++) {
        const __m512 wv = _mm512_set1_ps(weights[t]);
        const float *at = input + f->offset[t];
        const __mmask16 m0 = f->mask[0][t], m1 = f->mask[1][t], m2 = f->mask[2][t], m3 = f->mask[3][t];
        acc0 = _mm512_mask3_fmadd_ps(wv, _mm512_maskz_loadu_ps(m0, at), acc0, m0);
        acc1 = _mm512_mask3_fmadd_ps(wv, _mm512_maskz_loadu_ps(m1, at + 16), acc1, m1);
        acc2 = _mm512_mask3_fmadd_ps(wv, _mm512_maskz_loadu_ps(m2, at + 32), acc2, m2);
        acc3 = _mm512_mask3_fmadd_ps(wv, _mm512_maskz_loadu_ps(m3, at + 48), acc3, m3);
    }
    const __m512 acc[DW_FLAT_BLOCKS] = {acc0, acc1, acc2, acc3};
    for (int b = 0; b < f->blocks; b++) {
        __m512 v = acc[b];
        if (in_registers) v = ck_activate_avx512(epilogue, v);
        _mm512_mask_storeu_ps(output + 16 * b, f->out_mask[b], v);
        if (after_store) ck_apply_epilogue(epilogue, output + 16 * b, _mm_popcnt_u32(f->out_mask[b]));
    }
}

// Up to eight output planes that read the same input plane (a channel multiplier, such as
// a one-channel first layer: LeNet's 1 → 6), ROWS output rows × two 16-column blocks at a
// time: each tap's input vectors are loaded once and feed every plane's accumulators, and
// each weight broadcast feeds ROWS·2 FMAs (ROWS = 2 where 2·2·M accumulators fit, M ≤ 6).
// A row whose tap r falls in the padding gets empty masks for that r (skipped, not
// multiplied by zero). Planes past `count` reuse the last weights and are not stored; M
// (2, 4, 6 or 8, a constant per instance) bounds the accumulators that do any work. Sums in
// tap order (bias, r, s) as the reference.
enum { DW_MULTI_TAPS = 64 };
CK_AVX512 static inline __attribute__((always_inline)) void dw_multi_planes(
    const ck_conv_plane *p, const dw_masks *mk, const int SW, const int M, const float *input, const float *weights,
    int count, const float *initial, float *output, ptrdiff_t out_plane, const ck_epilogue *epilogue, int in_registers,
    int after_store) {
    enum { MAX_ROWS = 2 };
    const int ROWS = M <= 6 ? 2 : 1;
    const int ow = p->output_width, width = p->input_width, S = p->kernel_width, taps = p->kernel_height * S;
    // The planes' weights tap-major, 8 a tap: one pointer reaches every broadcast (eight
    // row pointers did not fit in registers next to the loop's own).
    float wp[DW_MULTI_TAPS * 8];
    for (int t = 0; t < taps; t++) {
        for (int q = 0; q < 8; q++) wp[t * 8 + q] = weights[(ptrdiff_t)ck_min(q, count - 1) * taps + t];
    }
    for (int i = 0; i < p->output_height; i += ROWS) {
        const int rows = ck_min(ROWS, p->output_height - i);
        int first, last;
        live_rows(p, i, &first, &last);
        if (rows == 2) {
            int first2, last2;
            live_rows(p, i + 1, &first2, &last2);
            first = ck_min(first, first2);
            last = ck_max(last, last2);
        }
        for (int b = 0; b < mk->blocks; b += 2) {
            const int b1 = ck_min(b + 1, mk->blocks - 1), two = b + 1 < mk->blocks;
            __m512 a[MAX_ROWS][2][8];
#pragma clang loop unroll(full)
            for (int h = 0; h < ROWS; h++) {
#pragma clang loop unroll(full)
                for (int q = 0; q < 8; q++) a[h][0][q] = a[h][1][q] = _mm512_set1_ps(initial[ck_min(q, count - 1)]);
            }
            for (int r = first; r < last; r++) {
                const float *line[MAX_ROWS];
                unsigned live[MAX_ROWS];
#pragma clang loop unroll(full)
                for (int h = 0; h < ROWS; h++) {
                    const int ih = (i + h) * p->stride_height - p->pad_top + r * p->dilation_height;
                    const int inside = h < rows && ih >= 0 && ih < p->input_height;
                    line[h] = input + (ptrdiff_t)(inside ? ih : 0) * width;
                    live[h] = inside ? 0xFFFFu : 0u;
                }
                for (int s = 0; s < S; s++) {
                    const int t = r * S + s;
                    __m512 x[MAX_ROWS][2];
                    __mmask16 m[MAX_ROWS][2];
#pragma clang loop unroll(full)
                    for (int h = 0; h < ROWS; h++) {
                        m[h][0] = (__mmask16)(mk->tap_mask[b][s] & live[h]);
                        m[h][1] = two ? (__mmask16)(mk->tap_mask[b1][s] & live[h]) : 0;
                        x[h][0] = dw_load(SW, line[h] + mk->tap_offset[b][s], m[h][0]);
                        x[h][1] = dw_load(SW, line[h] + mk->tap_offset[b1][s], m[h][1]);
                    }
#pragma clang loop unroll(full)
                    for (int q = 0; q < 8; q++) {
                        if (M > q) {
                            const __m512 wq = _mm512_set1_ps(wp[t * 8 + q]);
#pragma clang loop unroll(full)
                            for (int h = 0; h < ROWS; h++) {
                                a[h][0][q] = _mm512_mask3_fmadd_ps(wq, x[h][0], a[h][0][q], m[h][0]);
                                a[h][1][q] = _mm512_mask3_fmadd_ps(wq, x[h][1], a[h][1][q], m[h][1]);
                            }
                        }
                    }
                }
            }
            // Constant indices only, so the accumulators stay in registers.
#pragma clang loop unroll(full)
            for (int h = 0; h < ROWS; h++) {
                if (h >= rows) continue;
#pragma clang loop unroll(full)
                for (int e = 0; e < 2; e++) {
                    if (e == 1 && !two) continue;
                    const int blk = b + e;
#pragma clang loop unroll(full)
                    for (int q = 0; q < 8; q++) {
                        if (M <= q || q >= count) continue;
                        __m512 v = a[h][e][q];
                        if (in_registers) v = ck_activate_avx512(epilogue, v);
                        float *out = output + q * out_plane + (ptrdiff_t)(i + h) * ow + 16 * blk;
                        _mm512_mask_storeu_ps(out, mk->out_mask[blk], v);
                        if (after_store) ck_apply_epilogue(epilogue, out, ck_min(16, ow - 16 * blk));
                    }
                }
            }
        }
    }
}

CK_AVX512 static void depthwise_avx512(const ck_conv_plane *p, const float *input, const float *weights,
                                       const float *bias, float *output, int input_channels, int output_channels,
                                       int multiplier, ptrdiff_t first, ptrdiff_t last, const ck_epilogue *epilogue) {
    dw_flat flat;
    const int use_flat = dw_flat_fits(p);
    dw_masks mk;
    if (use_flat) dw_flat_build(p, &flat);
    else dw_build(p, &mk);
    const int in_registers = ck_epilogue_in_registers(epilogue);
    const int after_store = ck_epilogue_after_store(epilogue);
    const ptrdiff_t in_plane = (ptrdiff_t)p->input_height * p->input_width;
    const ptrdiff_t out_plane = (ptrdiff_t)p->output_height * p->output_width;
    const int taps = p->kernel_height * p->kernel_width;
    const int three = p->kernel_height == 3 && p->kernel_width == 3 && p->dilation_height == 1
        && p->dilation_width == 1 && ((p->stride_width == 1 && p->stride_height == 1) || (p->stride_width == 2 && p->stride_height == 2));
    for (ptrdiff_t index = first; index < last; index++) {
        const ptrdiff_t n = index / output_channels;
        const int k = (int)(index % output_channels);
        const float *x = input + (n * input_channels + k / multiplier) * in_plane;
        const float *w = weights + (ptrdiff_t)k * taps;
        float *y = output + index * out_plane;
        const float initial = bias ? bias[k] : 0.0f;
        // Planes of this chunk that share x: all of them go through at once.
        const int rest = multiplier - k % multiplier;
        const int sharing = last - index < rest ? (int)(last - index) : rest;
        if (sharing >= 2 && !use_flat && taps <= DW_MULTI_TAPS && (p->stride_width == 1 || p->stride_width == 2)) {
            const int count = ck_min(8, sharing);
            float initials[8];
            for (int q = 0; q < count; q++) initials[q] = bias ? bias[k + q] : 0.0f;
#define DW_MULTI(SW, M) dw_multi_planes(p, &mk, SW, M, x, w, count, initials, y, out_plane, epilogue, in_registers, after_store)
            if (p->stride_width == 1) {
                if (count <= 2) DW_MULTI(1, 2);
                else if (count <= 4) DW_MULTI(1, 4);
                else if (count <= 6) DW_MULTI(1, 6);
                else DW_MULTI(1, 8);
            } else {
                if (count <= 4) DW_MULTI(2, 4);
                else DW_MULTI(2, 8);
            }
#undef DW_MULTI
            index += count - 1;
            continue;
        }
        if (use_flat) {
            dw_flat_plane(&flat, x, w, y, initial, epilogue, in_registers, after_store);
            continue;
        }
        if (three) {
            if (p->stride_width == 1) dw3_plane(p, &mk, 1, 1, x, w, y, initial, epilogue, in_registers, after_store);
            else dw3_plane(p, &mk, 2, 2, x, w, y, initial, epilogue, in_registers, after_store);
            continue;
        }
        if (p->stride_width == 1) dw_plane(p, &mk, 1, x, w, y, initial, epilogue, in_registers, after_store);
        else if (p->stride_width == 2) dw_plane(p, &mk, 2, x, w, y, initial, epilogue, in_registers, after_store);
        else dw_plane(p, &mk, p->stride_width, x, w, y, initial, epilogue, in_registers, after_store);
    }
}
#endif

int ck_depthwise_planes(const ck_conv_plane *plane, const float *input, const float *weights, const float *bias,
                        float *output, int input_channels, int output_channels, int multiplier, ptrdiff_t first,
                        ptrdiff_t last, const ck_epilogue *epilogue) {
    if (epilogue && epilogue->code == CK_ACT_IDENTITY) epilogue = NULL;
#if CK_X86
    if (plane->border == CK_BORDER_ZEROS && plane->kernel_width <= DW_MAX_S
        && plane->output_width <= 16 * DW_MAX_BLOCKS && ck_has_avx512()) {
        depthwise_avx512(plane, input, weights, bias, output, input_channels, output_channels, multiplier, first, last,
                         epilogue);
        return 1;
    }
#endif
    return 0;
}

int ck_has_avx512(void);

void ck_direct_plane(const ck_conv_plane *plane, const float *input, const float *weights,
                     float *output, float initial, int accumulate, const ck_epilogue *epilogue) {
    if (epilogue && epilogue->code == CK_ACT_IDENTITY) epilogue = NULL;
#if CK_X86
    if (plane->border == CK_BORDER_ZEROS && plane->kernel_width <= DW_MAX_S && ck_has_avx512()) {
        plane_avx512(plane, input, weights, output, initial, accumulate, epilogue);
        return;
    }
    if (ck_has_avx2_fma()) {
        plane_avx2(plane, input, weights, output, initial, accumulate, epilogue);
        return;
    }
#endif
    plane_portable(plane, input, weights, output, initial, accumulate, epilogue);
}
