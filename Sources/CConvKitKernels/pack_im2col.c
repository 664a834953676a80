#include "internal.h"
#include <string.h>

// Column `index` of the block lives in panel index / NR, lane index % NR; consecutive
// columns are contiguous only inside one panel, so runs are split at panel edges.
static inline float *slot(float *row0, ptrdiff_t panel_stride, int index) {
    return row0 + (ptrdiff_t)(index / CK_GEMM_NR) * panel_stride + index % CK_GEMM_NR;
}

static void put_zeros(float *row0, ptrdiff_t panel_stride, int index, int count) {
    while (count > 0) {
        const int chunk = ck_min(count, CK_GEMM_NR - index % CK_GEMM_NR);
        memset(slot(row0, panel_stride, index), 0, (size_t)chunk * sizeof(float));
        index += chunk;
        count -= chunk;
    }
}

static void put_copy(float *row0, ptrdiff_t panel_stride, int index, const float *source, int count) {
    while (count > 0) {
        const int chunk = ck_min(count, CK_GEMM_NR - index % CK_GEMM_NR);
        memcpy(slot(row0, panel_stride, index), source, (size_t)chunk * sizeof(float));
        index += chunk;
        source += chunk;
        count -= chunk;
    }
}

void ck_pack_im2col(const ck_conv_plane *plane, const float *input, int q0, int depth,
                    ptrdiff_t p0, int columns, float *packed) {
    const int height = plane->input_height, width = plane->input_width;
    const int taps_h = plane->kernel_height, taps_w = plane->kernel_width;
    const int out_w = plane->output_width;
    const ptrdiff_t channel_stride = (ptrdiff_t)height * width;
    const ptrdiff_t panel_stride = (ptrdiff_t)depth * CK_GEMM_NR;
    // A 1×1, stride-1, unpadded filter makes the virtual matrix the input itself.
    const int contiguous = taps_h == 1 && taps_w == 1 && plane->stride_height == 1 && plane->stride_width == 1
        && plane->pad_top == 0 && plane->pad_left == 0 && plane->output_width == width;

    const int padded_columns = (columns + CK_GEMM_NR - 1) / CK_GEMM_NR * CK_GEMM_NR;
    for (int t = 0; t < depth; t++) {
        const int q = q0 + t;
        const int c = q / (taps_h * taps_w), r = q / taps_w % taps_h, s = q % taps_w;
        const float *channel = input + (ptrdiff_t)c * channel_stride;
        float *row0 = packed + (ptrdiff_t)t * CK_GEMM_NR;
        put_zeros(row0, panel_stride, columns, padded_columns - columns);
        if (contiguous) {
            put_copy(row0, panel_stride, 0, channel + p0, columns);
            continue;
        }
        int i = (int)(p0 / out_w), j = (int)(p0 % out_w);
        for (int index = 0; index < columns; i++, j = 0) {
            const int run = ck_min(out_w - j, columns - index);
            const int ih = i * plane->stride_height - plane->pad_top + r * plane->dilation_height;
            if (ih < 0 || ih >= height) {
                put_zeros(row0, panel_stride, index, run);
            } else {
                const float *line = channel + (ptrdiff_t)ih * width;
                const int iw0 = j * plane->stride_width - plane->pad_left + s * plane->dilation_width;
                if (plane->stride_width == 1) {
                    const int lo = ck_min(ck_max(-iw0, 0), run);
                    const int hi = ck_max(ck_min(width - iw0, run), lo);
                    put_zeros(row0, panel_stride, index, lo);
                    put_copy(row0, panel_stride, index + lo, line + iw0 + lo, hi - lo);
                    put_zeros(row0, panel_stride, index + hi, run - hi);
                } else {
                    for (int k = 0; k < run; k++) {
                        const int iw = iw0 + k * plane->stride_width;
                        *slot(row0, panel_stride, index + k) = (iw >= 0 && iw < width) ? line[iw] : 0.0f;
                    }
                }
            }
            index += run;
        }
    }
}
