// conv2d_tiled.cl: 2-D convolution with a local-memory input tile and register blocking
// over output channels.
//
// Computes the same y[n,k,i,j] as conv2d_direct.cl (semantics.md; border rule by index
// mapping, zero-border padding taps skipped, float32 sum in the fixed order bias, c, r,
// s, then the fused epilogue), so both give identical results.
//
// Work decomposition: a work-group owns a TILE_H x TILE_W block of output positions and
// K_BLOCK consecutive output channels of one group of one image; each work-item owns one
// position and keeps K_BLOCK accumulators in registers. For each input channel of the
// group the work-group stages the input window its outputs read,
//   tile_rows = (TILE_H-1)*stride_h + (kernel_h-1)*dilation_h + 1
//   tile_cols = (TILE_W-1)*stride_w + (kernel_w-1)*dilation_w + 1,
// into local memory with row-contiguous (coalesced) loads (outside cells through the
// border mapping, 0 for the zero border), then every work-item reads
// its taps from there: each input element is fetched from global memory once per group
// instead of up to R*S*K_BLOCK times. Weights are uniform across the work-group, so
// their loads broadcast.
//
// Layout: input NCHW, weights KCRS (C = Cg), bias [K], output NKHW; dense float32.
// 64-bit (long) flat offsets; signed int coordinates with explicit bounds checks. Work-
// items of the rounded-up tail still join the loads and barriers, and store nothing.
//
// Defines (code generation only; every size is an argument):
//   TILE_W   output columns per work-group = local size 0, default 16
//   TILE_H   output rows per work-group    = local size 1, default 8
//   K_BLOCK  output channels per work-item (registers), default 4
//   KERNEL_H, KERNEL_W  unrolled filter size; 0 (default) = use the arguments.
//
// Launch: global = (roundup(OW, TILE_W), roundup(OH, TILE_H), N * groups * k_blocks),
// local = (TILE_W, TILE_H, 1), with k_blocks = ceil(Kg / K_BLOCK) and groups = K / Kg.
//
// Arguments, in order:
//    0 input   __global const float*     1 weights  __global const float*
//    2 bias    __global const float* (any buffer when has_bias == 0)
//    3 output  __global float*           4 tile     __local float[tile_rows*tile_cols]
//    5 batch  6 in_channels  7 in_height  8 in_width
//    9 out_channels  10 out_height  11 out_width
//   12 kernel_h  13 kernel_w  14 stride_h  15 stride_w  16 dilation_h  17 dilation_w
//   18 pad_top  19 pad_left  20 channels_per_group (Cg)  21 filters_per_group (Kg)
//   22 has_bias  23 tile_rows  24 tile_cols  25 k_blocks
//   26 border (0 zeros, 1 reflect, 2 replicate, 3 circular)  27 act (Activation.code)
//                                                             (all int)
//   28 act_p0  29 act_p1 (float, Activation.parameters)

#ifndef TILE_W
#define TILE_W 16
#endif
#ifndef TILE_H
#define TILE_H 8
#endif
#ifndef K_BLOCK
#define K_BLOCK 4
#endif
#ifndef KERNEL_H
#define KERNEL_H 0
#endif
#ifndef KERNEL_W
#define KERNEL_W 0
#endif

// Border and epilogue helpers (border_index, activate, FILTER_H/FILTER_W, ...): kernels/conv_common.cl,
// prepended by the host.

__kernel __attribute__((reqd_work_group_size(TILE_W, TILE_H, 1)))
void conv2d_tiled(__global const float *restrict input,
                  __global const float *restrict weights,
                  __global const float *restrict bias,
                  __global float *restrict output,
                  __local float *tile,
                  const int batch, const int in_channels, const int in_height, const int in_width,
                  const int out_channels, const int out_height, const int out_width,
                  const int kernel_h, const int kernel_w,
                  const int stride_h, const int stride_w,
                  const int dilation_h, const int dilation_w,
                  const int pad_top, const int pad_left,
                  const int channels_per_group, const int filters_per_group,
                  const int has_bias, const int tile_rows, const int tile_cols, const int k_blocks,
                  const int border, const int act, const float act_p0, const float act_p1)
{
    const int lx = (int)get_local_id(0);
    const int ly = (int)get_local_id(1);
    const int i0 = (int)get_group_id(1) * TILE_H;
    const int j0 = (int)get_group_id(0) * TILE_W;
    const int i = i0 + ly;
    const int j = j0 + lx;
    const bool active = i < out_height && j < out_width;

    const int z = (int)get_global_id(2);
    const int block = z % k_blocks;
    const int image_group = z / k_blocks;
    const int groups = out_channels / filters_per_group;
    const int group = image_group % groups;
    const int n = image_group / groups;
    const int k0 = group * filters_per_group + block * K_BLOCK;
    const int k_count = min(K_BLOCK, filters_per_group - block * K_BLOCK);

    const long plane = (long)in_height * in_width;
    const long taps = (long)FILTER_H * FILTER_W;
    const long filter_stride = (long)channels_per_group * taps;
    __global const float *x = input + ((long)n * in_channels + (long)group * channels_per_group) * plane;
    __global const float *w = weights + (long)k0 * filter_stride;

    float acc[K_BLOCK];
    for (int q = 0; q < K_BLOCK; ++q)
        acc[q] = (has_bias && q < k_count) ? bias[k0 + q] : 0.0f;

    // Tile origin in input coordinates, and this work-item's first tap inside the tile.
    const int tile_row0 = i0 * stride_h - pad_top;
    const int tile_col0 = j0 * stride_w - pad_left;
    const int my_row = ly * stride_h;
    const int my_col = lx * stride_w;
    const int tile_size = tile_rows * tile_cols;
    const int flat = ly * TILE_W + lx;

    for (int c = 0; c < channels_per_group; ++c) {
        barrier(CLK_LOCAL_MEM_FENCE);
        for (int t = flat; t < tile_size; t += TILE_W * TILE_H) {
            const int tr = t / tile_cols;
            const int tc = t - tr * tile_cols;
            const int h = border_index(tile_row0 + tr, in_height, border);
            const int col = border_index(tile_col0 + tc, in_width, border);
            tile[t] = (h >= 0 && col >= 0) ? x[(long)h * in_width + col] : 0.0f;
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        if (active) {
            for (int r = 0; r < FILTER_H; ++r) {
                const int tr = my_row + r * dilation_h;
                const int h = tile_row0 + tr;
                // Only the zero border has cells to skip; the others read mapped cells.
                if (border == BORDER_ZEROS && (h < 0 || h >= in_height)) continue;
                __local const float *t_row = tile + tr * tile_cols + my_col;
                for (int s = 0; s < FILTER_W; ++s) {
                    const int col = tile_col0 + my_col + s * dilation_w;
                    if (border == BORDER_ZEROS && (col < 0 || col >= in_width)) continue;
                    const float v = t_row[s * dilation_w];
                    const int tap = r * FILTER_W + s;
                    for (int q = 0; q < K_BLOCK; ++q) {
                        // Tail lanes read the last real filter and are never stored.
                        const int kq = min(q, k_count - 1);
                        acc[q] = fma(v, w[kq * filter_stride + tap], acc[q]);
                    }
                }
            }
        }
        x += plane;
        w += taps;
    }
    if (!active) return;
    for (int q = 0; q < K_BLOCK; ++q) {
        if (q < k_count)
            output[(((long)n * out_channels + k0 + q) * out_height + i) * out_width + j] = activate(acc[q], act, act_p0, act_p1);
    }
}
