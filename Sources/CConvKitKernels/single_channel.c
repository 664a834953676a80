#include "internal.h"
#include <string.h>

// One input channel, several filters, stride 1, small planes (LeNet's first layer: 1 → 6,
// 5×5, 28×28 with padding 2). The input is copied once into a zero-bordered grid whose rows
// are a multiple of 16 floats wide, and each output row is computed over that width: every
// tap is then one plain vector load per 16 outputs (junk columns past the row's end are
// computed and never stored), shared by up to 6 filters, with no masks in the loop. The
// depthwise kernel, which took these layers before, masks every load and FMA by tap and
// row. Each output is one chain: bias, then taps in (r, s) order, as the direct path sums.

enum { SC_MAX_GRID = 8192, SC_MAX_VECTORS = 64, SC_MAX_TAPS = 64, SC_MF = 6, SC_NV = 4 };

static int sc_width(const ck_conv_plane *p) {
    return (p->output_width + (p->kernel_width - 1) * p->dilation_width + 15) / 16 * 16;
}

static int sc_rows(const ck_conv_plane *p) {
    return p->output_height + (p->kernel_height - 1) * p->dilation_height;
}

int ck_single_channel_fits(const ck_conv_plane *p) {
#if CK_X86
    if (!ck_has_avx512() || p->border != CK_BORDER_ZEROS || p->stride_height != 1 || p->stride_width != 1) return 0;
    const long long width = sc_width(p), grid = (long long)sc_rows(p) * width + width;
    const long long vectors = (long long)p->output_height * (width / 16);
    return grid <= SC_MAX_GRID && vectors <= SC_MAX_VECTORS && p->kernel_height * p->kernel_width <= SC_MAX_TAPS;
#else
    (void)p;
    return 0;
#endif
}

#if CK_X86
// MF filters × NV vectors of the widened output grid (from v0), over every tap.
CK_AVX512 static inline __attribute__((always_inline)) void sc_tile(
    const int MF, const int NV, const ck_conv_plane *p, const float *grid, int width, const float *weights, int k0,
    int kcount, int v0, int nv, const float *bias, float *output, const ck_epilogue *epilogue) {
    const int R = p->kernel_height, S = p->kernel_width, taps = R * S, per_row = width / 16;
    const int ow = p->output_width;
    __m512 acc[SC_MF][SC_NV];
#pragma clang loop unroll(full)
    for (int f = 0; f < MF; f++) {
        const __m512 start = _mm512_set1_ps(bias ? bias[k0 + ck_min(f, kcount - 1)] : 0.0f);
#pragma clang loop unroll(full)
        for (int v = 0; v < NV; v++) acc[f][v] = start;
    }
    // Vector v starts at grid cell (row v / per_row, column 16 · (v % per_row)).
    const float *at[SC_NV];
#pragma clang loop unroll(full)
    for (int v = 0; v < NV; v++) {
        const int u = v0 + ck_min(v, nv - 1);
        at[v] = grid + (ptrdiff_t)(u / per_row) * width + 16 * (u % per_row);
    }
    for (int r = 0; r < R; r++) {
        const ptrdiff_t row = (ptrdiff_t)r * p->dilation_height * width;
        for (int s = 0; s < S; s++) {
            const ptrdiff_t shift = row + s * p->dilation_width;
            const int t = r * S + s;
            __m512 x[SC_NV];
#pragma clang loop unroll(full)
            for (int v = 0; v < NV; v++) x[v] = _mm512_loadu_ps(at[v] + shift);
#pragma clang loop unroll(full)
            for (int f = 0; f < MF; f++) {
                const __m512 w = _mm512_set1_ps(weights[(ptrdiff_t)(k0 + ck_min(f, kcount - 1)) * taps + t]);
#pragma clang loop unroll(full)
                for (int v = 0; v < NV; v++) acc[f][v] = _mm512_fmadd_ps(w, x[v], acc[f][v]);
            }
        }
    }
    const int in_registers = ck_epilogue_in_registers(epilogue), after_store = ck_epilogue_after_store(epilogue);
    const ptrdiff_t plane = (ptrdiff_t)p->output_height * ow;
#pragma clang loop unroll(full)
    for (int v = 0; v < NV; v++) {
        // Constant indices only, so the accumulators stay in registers.
        if (v >= nv) continue;
        const int u = v0 + v, i = u / per_row, j = 16 * (u % per_row);
        const int live = ck_max(0, ck_min(16, ow - j));
        if (live == 0) continue;
        const __mmask16 mask = (__mmask16)((1u << live) - 1);
#pragma clang loop unroll(full)
        for (int f = 0; f < MF; f++) {
            if (f >= kcount) continue;
            __m512 value = acc[f][v];
            if (in_registers) value = ck_activate_avx512(epilogue, value);
            float *out = output + (k0 + f) * plane + (ptrdiff_t)i * ow + j;
            _mm512_mask_storeu_ps(out, mask, value);
            if (after_store) ck_apply_epilogue(epilogue, out, live);
        }
    }
}

#define SC_V(MF, NV) case NV: sc_tile(MF, NV, p, grid, width, weights, k0, kcount, v0, nv, bias, output, epilogue); break;

CK_AVX512 static void sc_run(const ck_conv_plane *p, const float *grid, int width, const float *weights, int kg,
                             const float *bias, float *output, const ck_epilogue *epilogue) {
    const int vectors = p->output_height * (width / 16);
    for (int k0 = 0; k0 < kg; k0 += SC_MF) {
        const int kcount = ck_min(SC_MF, kg - k0);
        for (int v0 = 0; v0 < vectors; v0 += SC_NV) {
            const int nv = ck_min(SC_NV, vectors - v0);
            switch (nv) { SC_V(SC_MF, 1) SC_V(SC_MF, 2) SC_V(SC_MF, 3) SC_V(SC_MF, 4) }
        }
    }
}
#undef SC_V
#endif

void ck_single_channel(const ck_conv_plane *p, const float *input, const float *weights, const float *bias,
                       float *output, int kg, ptrdiff_t first, ptrdiff_t last, const ck_epilogue *epilogue) {
#if CK_X86
    if (epilogue && epilogue->code == CK_ACT_IDENTITY) epilogue = NULL;
    const int width = sc_width(p), rows = sc_rows(p);
    const ptrdiff_t in_plane = (ptrdiff_t)p->input_height * p->input_width;
    const ptrdiff_t out_planes = (ptrdiff_t)kg * p->output_height * p->output_width;
    float grid[SC_MAX_GRID] __attribute__((aligned(64)));
    // Rows [h0, h1) of the grid hold input rows, columns [pl, pl + copied) input columns.
    const int h0 = ck_min(rows, p->pad_top), h1 = ck_max(h0, ck_min(rows, p->pad_top + p->input_height));
    const int left = ck_min(width, p->pad_left), copied = ck_max(0, ck_min(width - left, p->input_width));
    for (ptrdiff_t n = first; n < last; n++) {
        // The last row's junk columns read one row past the grid: zero it too.
        memset(grid, 0, sizeof(float) * (size_t)((rows + 1) * width));
        for (int h = h0; h < h1; h++) {
            memcpy(grid + (ptrdiff_t)h * width + left, input + n * in_plane + (ptrdiff_t)(h - p->pad_top) * p->input_width,
                   sizeof(float) * (size_t)copied);
        }
        sc_run(p, grid, width, weights, kg, bias, output + n * out_planes, epilogue);
    }
#else
    (void)p, (void)input, (void)weights, (void)bias, (void)output, (void)kg, (void)first, (void)last, (void)epilogue;
#endif
}
