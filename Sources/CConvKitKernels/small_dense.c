#include "internal.h"
#include <string.h>

// Small dense convolutions (LeNet's 6 → 16 channels, 5×5, on 14×14): there the GEMM
// path's im2col pack costs more than its multiplies (150 taps × 128 lanes gathered for
// 100 outputs), and the plane-by-plane direct path re-reads every output once per input
// channel. This kernel walks each output plane flat, 16 pixels per vector whatever the row
// length, after one copy of the input per kernel column s: row h of copy (c, s) holds
// x[c][h − pt][j·sw + s·dw − pl] for the OW output columns j. Output p = i·OW + j then
// reads tap (c, r, s) at p + r·dh·OW of copy (c, s): one vector load per 16 outputs and
// tap, shared by up to 8 filters. Lanes whose tap lies in the zero border are masked out
// of the FMA (skipped as the reference skips them, so an Inf weight never meets padding).
// Each output is one chain: bias, then taps in (c, r, s) order, the GEMM's order.
//
// Rows of a copy follow output rows, hence stride 1 along rows only. The copy and the mask
// table are bounded so both live on the stack: no workspace, no allocation.
enum { SD_MAX_COPY = 8192, SD_MAX_VECTORS = 64, SD_MAX_MASKS = 4096, CK_SMALL_DENSE_MAX_S = 64 };

// Rows of padded input one copy holds: output rows plus the dilated kernel's reach.
static long long sd_rows(const ck_conv_plane *p) {
    return (long long)p->output_height + (long long)(p->kernel_height - 1) * p->dilation_height;
}

// Whether any tap of any output lies outside the input (then only a zero border fits).
static int sd_reads_border(const ck_conv_plane *p) {
    const long long last_row = sd_rows(p) - 1 - p->pad_top;
    const long long last_col = (long long)(p->output_width - 1) * p->stride_width
        + (long long)(p->kernel_width - 1) * p->dilation_width - p->pad_left;
    return p->pad_top > 0 || p->pad_left > 0 || last_row >= p->input_height || last_col >= p->input_width;
}

int ck_small_dense_fits(const ck_conv_plane *p, int cg) {
#if CK_X86
    if (cg < 1 || p->stride_height != 1 || p->output_height < 1 || p->output_width < 1) return 0;
    if (p->border != CK_BORDER_ZEROS && sd_reads_border(p)) return 0;
    const long long pixels = (long long)p->output_height * p->output_width;
    const long long vectors = (pixels + 15) / 16;
    const long long copy = (long long)cg * p->kernel_width * sd_rows(p) * p->output_width;
    const long long masks = vectors * p->kernel_height * p->kernel_width;
    return p->kernel_width <= CK_SMALL_DENSE_MAX_S && vectors <= SD_MAX_VECTORS && copy <= SD_MAX_COPY && masks <= SD_MAX_MASKS && ck_has_avx512();
#else
    (void)p;
    (void)cg;
    return 0;
#endif
}

#if CK_X86
typedef struct sd_layout {
    int rows, ow, pixels, vectors, cg, R, S, dh, depth;
    // mask[(r·S + s)·vectors + v]: the lanes of output vector v whose tap (r, s) is inside.
    __mmask16 mask[SD_MAX_MASKS];
    __mmask16 live[SD_MAX_VECTORS];
} sd_layout;

// Output columns [*j0, *j1) of kernel column s read inside the row: j·sw + shift ∈ [0, IW),
// clipped so that 0 ≤ j0 ≤ j1 ≤ ow.
static void sd_columns(const ck_conv_plane *p, int ow, int s, int *shift, int *j0, int *j1) {
    *shift = s * p->dilation_width - p->pad_left;
    int from, to;
    ck_run_lanes(*shift, 0, ow, p->stride_width, p->input_width, &from, &to);
    *j0 = ck_min(ow, from);
    *j1 = ck_max(*j0, to);
}

// Lanes [lo, hi) of a 16-lane mask, the bounds clipped to [0, 16].
static inline __mmask16 sd_lanes(int lo, int hi) {
    lo = ck_max(0, lo);
    hi = ck_min(16, hi);
    return hi <= lo ? 0 : (__mmask16)(((1u << hi) - 1) & ~((1u << lo) - 1));
}

CK_AVX512 static void sd_copy(const ck_conv_plane *p, const sd_layout *L, const float *input, float *copy) {
    const ptrdiff_t in_plane = (ptrdiff_t)p->input_height * p->input_width;
    const ptrdiff_t copy_plane = (ptrdiff_t)L->rows * L->ow;
    const int ow = L->ow, sw = p->stride_width;
    int shift[CK_SMALL_DENSE_MAX_S], j0[CK_SMALL_DENSE_MAX_S], j1[CK_SMALL_DENSE_MAX_S];
    for (int s = 0; s < L->S; s++) sd_columns(p, ow, s, &shift[s], &j0[s], &j1[s]);
    // Copy rows [h0, h1) hold input rows; the rest are never read (masked) and are zeroed
    // so the copy is defined.
    const int h0 = ck_min(L->rows, ck_max(0, p->pad_top));
    const int h1 = ck_max(h0, ck_min(L->rows, p->pad_top + p->input_height));
    for (int c = 0; c < L->cg * L->S; c++) {
        float *plane = copy + c * copy_plane;
        memset(plane, 0, sizeof(float) * (size_t)h0 * ow);
        memset(plane + (ptrdiff_t)h1 * ow, 0, sizeof(float) * (size_t)(L->rows - h1) * ow);
    }
    for (int c = 0; c < L->cg; c++) {
        for (int h = h0; h < h1; h++) {
            // One input row feeds the S copies; each is a shifted run of it, zero outside.
            const float *src = input + c * in_plane + (ptrdiff_t)(h - p->pad_top) * p->input_width;
            for (int s = 0; s < L->S; s++) {
                float *dst = copy + (c * L->S + s) * copy_plane + (ptrdiff_t)h * ow;
                const float *from = src + shift[s];
                if (sw == 1) {
                    // One masked load and store per 16 columns, zeros outside [j0, j1).
                    for (int q = 0; q < ow; q += 16) {
                        const __mmask16 in = sd_lanes(j0[s] - q, j1[s] - q), out = sd_lanes(0, ow - q);
                        _mm512_mask_storeu_ps(dst + q, out, _mm512_maskz_loadu_ps(in, from + q));
                    }
                } else {
                    for (int j = 0; j < j0[s]; j++) dst[j] = 0.0f;
                    for (int j = j0[s]; j < j1[s]; j++) dst[j] = from[(ptrdiff_t)j * sw];
                    for (int j = j1[s]; j < ow; j++) dst[j] = 0.0f;
                }
            }
        }
    }
}

CK_AVX512 static void sd_masks(const ck_conv_plane *p, sd_layout *L) {
    const __m512i ramp = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    const __m512i zero = _mm512_setzero_si512();
    const __m512i height = _mm512_set1_epi32(p->input_height), width = _mm512_set1_epi32(p->input_width);
    for (int v = 0; v < L->vectors; v++) {
        const __m512i pix = _mm512_add_epi32(_mm512_set1_epi32(16 * v), ramp);
        L->live[v] = _mm512_cmplt_epi32_mask(pix, _mm512_set1_epi32(L->pixels));
        // i = ⌊(p + ½) / OW⌋ is exact in float32 for these sizes (p < 1024, OW < 2^13).
        const __m512 q = _mm512_div_ps(_mm512_add_ps(_mm512_cvtepi32_ps(pix), _mm512_set1_ps(0.5f)),
                                       _mm512_set1_ps((float)L->ow));
        const __m512i i = _mm512_cvttps_epi32(q);
        const __m512i j = _mm512_sub_epi32(pix, _mm512_mullo_epi32(i, _mm512_set1_epi32(L->ow)));
        __mmask16 col_in[CK_SMALL_DENSE_MAX_S];
        const __m512i col0 = _mm512_mullo_epi32(j, _mm512_set1_epi32(p->stride_width));
        for (int s = 0; s < L->S; s++) {
            const __m512i col = _mm512_add_epi32(col0, _mm512_set1_epi32(s * p->dilation_width - p->pad_left));
            col_in[s] = _mm512_cmpge_epi32_mask(col, zero) & _mm512_cmplt_epi32_mask(col, width);
        }
        for (int r = 0; r < L->R; r++) {
            const __m512i row = _mm512_add_epi32(i, _mm512_set1_epi32(r * p->dilation_height - p->pad_top));
            const __mmask16 row_in = L->live[v] & _mm512_cmpge_epi32_mask(row, zero)
                & _mm512_cmplt_epi32_mask(row, height);
            __mmask16 *out = L->mask + r * L->S * L->vectors + v;
            for (int s = 0; s < L->S; s++) out[s * L->vectors] = row_in & col_in[s];
        }
    }
}

// MF filters (from k0; `kcount` of them real) × NV output vectors (from v0; `nv` real),
// accumulated in registers over every tap. Constants MF and NV let the compiler keep
// the MF·NV accumulators in registers.
CK_AVX512 static inline __attribute__((always_inline)) void sd_tile(
    const int MF, const int NV, const sd_layout *L, const float *copy, const float *weights, int k0, int kcount,
    int v0, int nv, const float *bias, float *output, const ck_epilogue *epilogue) {
    const float *w[8];
    __m512 acc[8][8];
#pragma clang loop unroll(full)
    for (int f = 0; f < MF; f++) {
        const int k = k0 + ck_min(f, kcount - 1);
        w[f] = weights + (ptrdiff_t)k * L->depth;
        const __m512 start = _mm512_set1_ps(bias ? bias[k] : 0.0f);
#pragma clang loop unroll(full)
        for (int v = 0; v < NV; v++) acc[f][v] = start;
    }
    const ptrdiff_t plane = (ptrdiff_t)L->rows * L->ow;
    int t = 0;
    for (int c = 0; c < L->cg; c++) {
        for (int r = 0; r < L->R; r++) {
            const float *at = copy + (ptrdiff_t)c * L->S * plane + (ptrdiff_t)r * L->dh * L->ow + 16 * v0;
            const __mmask16 *mk = L->mask + r * L->S * L->vectors + v0;
            for (int s = 0; s < L->S; s++, t++, at += plane, mk += L->vectors) {
                __m512 x[8];
                __mmask16 m[8];
#pragma clang loop unroll(full)
                for (int v = 0; v < NV; v++) {
                    m[v] = v < nv ? mk[v] : 0;
                    x[v] = _mm512_maskz_loadu_ps(m[v], at + 16 * v);
                }
#pragma clang loop unroll(full)
                for (int f = 0; f < MF; f++) {
                    const __m512 wv = _mm512_set1_ps(w[f][t]);
#pragma clang loop unroll(full)
                    for (int v = 0; v < NV; v++) acc[f][v] = _mm512_mask3_fmadd_ps(wv, x[v], acc[f][v], m[v]);
                }
            }
        }
    }
    const int in_registers = ck_epilogue_in_registers(epilogue), after_store = ck_epilogue_after_store(epilogue);
    for (int f = 0; f < kcount; f++) {
        for (int v = 0; v < nv; v++) {
            __m512 value = acc[f][v];
            if (in_registers) value = ck_activate_avx512(epilogue, value);
            float *out = output + (ptrdiff_t)(k0 + f) * L->pixels + 16 * (v0 + v);
            _mm512_mask_storeu_ps(out, L->live[v0 + v], value);
            if (after_store) ck_apply_epilogue(epilogue, out, _mm_popcnt_u32(L->live[v0 + v]));
        }
    }
}

// Output vectors per tile for MF filters: MF·NV accumulators + NV inputs + 1 weight ≤ 32 registers.
static int sd_vectors_for(int mf) { return mf <= 2 ? 8 : mf <= 4 ? 6 : mf <= 6 ? 4 : 3; }

#define SD_NV(MF, NV) case NV: sd_tile(MF, NV, L, copy, weights, k0, kcount, v0, nv, bias, output, epilogue); break;
#define SD_MF(MF, CASES) case MF: switch (nv) { CASES } break;

CK_AVX512 static void sd_run(const sd_layout *L, const float *copy, const float *weights, int kg, const float *bias,
                             float *output, const ck_epilogue *epilogue) {
    // Filters in balanced blocks of at most 8, rounded up to an even MF (2, 4, 6 or 8);
    // output vectors in balanced blocks of at most NV(MF), so no tile computes idle vectors.
    const int filter_blocks = (kg + 7) / 8;
    int mf = (kg + filter_blocks - 1) / filter_blocks;
    mf += mf & 1;
    const int nv_max = sd_vectors_for(mf);
    const int vector_blocks = (L->vectors + nv_max - 1) / nv_max;
    for (int k0 = 0; k0 < kg; k0 += mf) {
        const int kcount = ck_min(mf, kg - k0);
        for (int b = 0; b < vector_blocks; b++) {
            const int v0 = L->vectors * b / vector_blocks, nv = L->vectors * (b + 1) / vector_blocks - v0;
            switch (mf) {
            SD_MF(2, SD_NV(2, 1) SD_NV(2, 2) SD_NV(2, 3) SD_NV(2, 4) SD_NV(2, 5) SD_NV(2, 6) SD_NV(2, 7) SD_NV(2, 8))
            SD_MF(4, SD_NV(4, 1) SD_NV(4, 2) SD_NV(4, 3) SD_NV(4, 4) SD_NV(4, 5) SD_NV(4, 6))
            SD_MF(6, SD_NV(6, 1) SD_NV(6, 2) SD_NV(6, 3) SD_NV(6, 4))
            SD_MF(8, SD_NV(8, 1) SD_NV(8, 2) SD_NV(8, 3))
            }
        }
    }
}
#undef SD_NV
#undef SD_MF
#endif

void ck_small_dense(const ck_conv_plane *p, const float *input, const float *weights, const float *bias,
                    float *output, int in_channels, int out_channels, int groups, ptrdiff_t first,
                    ptrdiff_t last, const ck_epilogue *epilogue) {
#if CK_X86
    const int cg = in_channels / groups, kg = out_channels / groups;
    // The layout and masks depend on the geometry only: built once for every unit.
    sd_layout L;
    L.rows = (int)sd_rows(p);
    L.ow = p->output_width;
    L.pixels = p->output_height * p->output_width;
    L.vectors = (L.pixels + 15) / 16;
    L.cg = cg;
    L.R = p->kernel_height;
    L.S = p->kernel_width;
    L.dh = p->dilation_height;
    L.depth = cg * L.R * L.S;
    sd_masks(p, &L);
    const ptrdiff_t in_plane = (ptrdiff_t)p->input_height * p->input_width;
    float copy[SD_MAX_COPY] __attribute__((aligned(64)));
    for (ptrdiff_t unit = first; unit < last; unit++) {
        const ptrdiff_t n = unit / groups, g = unit % groups;
        sd_copy(p, &L, input + (n * in_channels + g * cg) * in_plane, copy);
        sd_run(&L, copy, weights + g * kg * L.depth, kg, bias ? bias + g * kg : NULL,
               output + (n * out_channels + g * kg) * L.pixels, epilogue);
    }
#else
    (void)p, (void)input, (void)weights, (void)bias, (void)output, (void)in_channels, (void)out_channels;
    (void)groups, (void)first, (void)last, (void)epilogue;
#endif
}
