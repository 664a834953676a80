#include "internal.h"
#include <string.h>

// One panel's columns split into runs that share an output row: within a run the
// input columns step by the stride, so a tap is a strided (often contiguous) copy.
typedef struct run {
    int lane, count;   // lanes [lane, lane + count) of the panel
    int row0, col0;    // input row/column of the first lane's tap (0, 0), padding included
} run;

static int panel_runs(const ck_conv_plane *p, ptrdiff_t first, int columns, int contiguous, run runs[]) {
    if (contiguous) {
        // 1×1, stride 1, unpadded: treat the whole plane as one long row.
        runs[0] = (run){0, columns, 0, (int)first};
        return 1;
    }
    int count = 0;
    int i = (int)(first / p->output_width), j = (int)(first % p->output_width);
    for (int lane = 0; lane < columns; i++, j = 0) {
        const int length = ck_min(p->output_width - j, columns - lane);
        runs[count++] = (run){lane, length, i * p->stride_height - p->pad_top, j * p->stride_width - p->pad_left};
        lane += length;
    }
    return count;
}

// Fills one tap row of a panel. `row`/`col` are padded coordinates; for `CK_BORDER_ZEROS`
// an outside cell is 0, for the other borders it reads the mapped input cell, so no padded
// copy of the input ever exists.
static void pack_tap(const float *channel, int height, int width, int stride, int row, int col,
                     const run *r, float *dst, int border) {
    float *out = dst + r->lane;
    // Full-panel runs are the common case; a constant-size memcpy/memset compiles to a
    // few vector moves, which keeps packing well below the micro-kernel's time.
    const int full = r->count == CK_GEMM_NR;
    row = ck_border_index(row, height, border);
    if (row < 0) {
        if (full) {
            memset(out, 0, CK_GEMM_NR * sizeof(float));
            return;
        }
        for (int k = 0; k < r->count; k++) out[k] = 0.0f;
        return;
    }
    const float *line = channel + (ptrdiff_t)row * width;
    const int last = col + (r->count - 1) * stride;
    if (col >= 0 && last < width) {
        if (stride == 1 && full) {
            memcpy(out, line + col, CK_GEMM_NR * sizeof(float));
        } else if (stride == 1) {
            for (int k = 0; k < r->count; k++) out[k] = line[col + k];
        } else {
            for (int k = 0; k < r->count; k++) out[k] = line[col + k * stride];
        }
        return;
    }
    if (border == CK_BORDER_ZEROS) {
        for (int k = 0; k < r->count; k++) {
            const int iw = col + k * stride;
            out[k] = (iw >= 0 && iw < width) ? line[iw] : 0.0f;
        }
        return;
    }
    for (int k = 0; k < r->count; k++) out[k] = line[ck_border_index(col + k * stride, width, border)];
}

void ck_pack_im2col(const ck_conv_plane *plane, const float *input, int q0, int depth,
                    ptrdiff_t p0, int columns, float *packed) {
    const int height = plane->input_height, width = plane->input_width;
    const int taps_h = plane->kernel_height, taps_w = plane->kernel_width;
    const ptrdiff_t channel_stride = (ptrdiff_t)height * width;
    const int contiguous = taps_h == 1 && taps_w == 1 && plane->stride_height == 1 && plane->stride_width == 1
        && plane->pad_top == 0 && plane->pad_left == 0 && plane->output_width == width;
    const int stride_w = contiguous ? 1 : plane->stride_width;
    const int row_height = contiguous ? 1 : height;
    const int row_width = contiguous ? (int)channel_stride : width;
    run runs[CK_GEMM_NR];

    for (int start = 0; start < columns; start += CK_GEMM_NR) {
        const int live = ck_min(CK_GEMM_NR, columns - start);
        const int count = panel_runs(plane, p0 + start, live, contiguous, runs);
        float *panel = packed + (ptrdiff_t)start * depth;
        int c = q0 / (taps_h * taps_w), r = q0 / taps_w % taps_h, s = q0 % taps_w;
        for (int t = 0; t < depth; t++) {
            const float *channel = input + (ptrdiff_t)c * channel_stride;
            float *dst = panel + (ptrdiff_t)t * CK_GEMM_NR;
            const int dr = r * plane->dilation_height, ds = s * plane->dilation_width;
            for (int k = 0; k < count; k++) {
                pack_tap(channel, row_height, row_width, stride_w, runs[k].row0 + dr, runs[k].col0 + ds, &runs[k], dst,
                         plane->border);
            }
            for (int lane = live; lane < CK_GEMM_NR; lane++) dst[lane] = 0.0f;
            // Step (c, r, s) without a division per tap.
            if (++s == taps_w) {
                s = 0;
                if (++r == taps_h) {
                    r = 0;
                    c++;
                }
            }
        }
    }
}
