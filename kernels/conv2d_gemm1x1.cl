// conv2d_gemm1x1.cl: 1x1 convolutions (any stride, padding and border) as a GEMM with
// register blocking and vector loads.
//
// Computes the same y[n,k,i,j] as conv2d_direct.cl for a 1x1 filter (semantics.md;
// border rule by index mapping, zero-border padding skipped, fused epilogue):
//   Y[k, p] = act(b[k] + sum_c W[k, c] * X[c, src(p)])
// over M = Kg filters and N = output pixels of one image and group. The float32 sum per
// output runs in the order bias, c (the reference's order: bit-exact on small integers).
//
// Work decomposition: a work-item owns RM filters x RN output pixels (RM float vectors of
// RN lanes). `flat` = 1 (stride 1, no padding, same plane): the pixels are RN consecutive
// flattened pixels and the input column is the pixel itself, a plain GEMM with one vloadRN
// per channel. Otherwise (strided or padded 1x1) the pixels are RN consecutive columns
// of one output row and src(i, j) = (i*sh - pt, j*sw - pl) by index mapping: stride 1
// uses vloadRN, stride 2 two contiguous loads with the even lanes kept (`load_s2`), both
// masked on zero-border padding lanes; other strides, mapped borders at the row edges
// and reads past the plane gather lane by lane. The channel loop is unrolled by 4;
// the RM weights of a channel are read as scalars (broadcast into the FMA) from the
// packed filters (`pack_filters`, conv_common.cl): the RM weights of one channel sit side
// by side, so one pointer with constant offsets reaches them. Reading RM rows of KC11 in
// place needed RM live pointers, which PoCL spilled to the stack (256->512 @ 28x28:
// 2.1 ms in place, 1.6 ms with the repack included).
// Work-groups are remapped from their linear id (dimension 0 fastest, the order CPU
// devices run them) so that consecutive groups take every filter block of one pixel slab
// before the next slab: the slab's input stays in cache while all filters read it (the
// weights of a 1x1 layer are small and stay cached too).
// No local memory and no barrier: this kernel is for CPU-like devices where caches hold
// the weight rows (GPUs use conv2d_igemm.cl).
//
// Layout: input NCHW, weights KC11 (C = Cg), bias [K], output NKHW; dense float32.
// 64-bit (long) flat offsets; signed int coordinates with explicit bounds checks.
//
// Defines (code generation only; every size is an argument):
//   TN      work-items along pixels  = local size 0, default 4
//   TM      work-items along filters = local size 1, default 2
//   RN      output pixels per work-item = float vector width: 2, 4, 8 or 16; default 16
//   RM      filters per work-item (registers), default 8
//
// Launch: global = (roundup(P, TN), roundup(ceil(Kg / RM), TM), N * groups),
// local = (TN, TM, 1), with P = ceil(OH*OW / RN) when flat, else OH * ceil(OW / RN).
//
// Arguments, in order (the conv2d_igemm.cl order; kernel_h/w and dilation are 1 or unused):
//    0 input   __global const float*     1 weights  __global const float* (packed)
//    2 bias    __global const float* (any buffer when has_bias == 0)
//    3 output  __global float*
//    4 batch  5 in_channels  6 in_height  7 in_width
//    8 out_channels  9 out_height  10 out_width
//   11 kernel_h  12 kernel_w  13 stride_h  14 stride_w  15 dilation_h  16 dilation_w
//   17 pad_top  18 pad_left  19 channels_per_group (Cg)  20 filters_per_group (Kg)
//   21 has_bias  22 flat (1: pixels are the flattened plane; only stride 1, pad 0)
//   23 border (0 zeros, 1 reflect, 2 replicate, 3 circular)  24 act (Activation.code)
//                                                             (all int)
//   25 act_p0  26 act_p1 (float, Activation.parameters)

#ifndef TN
#define TN 4
#endif
#ifndef TM
#define TM 2
#endif
#ifndef RN
#define RN 16
#endif
#ifndef RM
#define RM 8
#endif

// Border and epilogue helpers (border_index, activate, ...) and the RN vector helpers (floatv,
// vloadv, load_s2, gather_safe): kernels/conv_common.cl,
// prepended by the host.


// acc[m] += LOAD * w[k_m, c] for every channel c (product dropped outside `mask` when
// MASKED); xc walks the planes from the pixel's source.
#define CHANNEL_LOOP(LOAD, MASKED)                                                        \
    {                                                                                     \
        __global const float *xc = x + base;                                              \
        _Pragma("unroll 4") for (int c = 0; c < Cg; ++c) {                             \
            const floatv v = LOAD;                                                        \
            _Pragma("unroll") for (int m = 0; m < RM; ++m) {                              \
                const float wm = w_pack[c * RM + m];                                            \
                acc[m] = (MASKED) ? madd_keep(v, wm, acc[m], mask) : madd(v, wm, acc[m]); \
            }                                                                             \
            xc += plane;                                                                  \
        }                                                                                 \
    }

__kernel __attribute__((reqd_work_group_size(TN, TM, 1)))
void conv2d_gemm1x1(__global const float *restrict input,
                    __global const float *restrict weights,
                    __global const float *restrict bias,
                    __global float *restrict output,
                    const int batch, const int in_channels, const int in_height, const int in_width,
                    const int out_channels, const int out_height, const int out_width,
                    const int kernel_h, const int kernel_w,
                    const int stride_h, const int stride_w,
                    const int dilation_h, const int dilation_w,
                    const int pad_top, const int pad_left,
                    const int channels_per_group, const int filters_per_group,
                    const int has_bias, const int flat,
                    const int border, const int act, const float act_p0, const float act_p1)
{
    // Work-groups run in linear order (dimension 0 fastest on CPU devices): remap them so
    // that consecutive groups walk the filter blocks of one pixel slab, which then stays
    // in cache while every filter reads it.
    const int groups0 = (int)get_num_groups(0), groups1 = (int)get_num_groups(1);
    const int linear = (int)get_group_id(1) * groups0 + (int)get_group_id(0);
    const int px = (linear / groups1) * TN + (int)get_local_id(0);
    const int kb = (linear % groups1) * TM + (int)get_local_id(1);
    const int ng = (int)get_global_id(2);
    const int groups = out_channels / filters_per_group;
    const int group = ng % groups;
    const int n = ng / groups;
    const int Kg = filters_per_group, Cg = channels_per_group;

    const int pixels = out_height * out_width;
    int i, j0, p0, lanes;
    if (flat) {
        p0 = px * RN;
        i = 0;
        j0 = 0;
        lanes = clamp(pixels - p0, 0, RN);
    } else {
        const int col_blocks = (out_width + RN - 1) / RN;
        i = px / col_blocks;
        j0 = (px - i * col_blocks) * RN;
        p0 = i * out_width + j0;
        lanes = i < out_height ? min(RN, out_width - j0) : 0;
    }

    const int k_local0 = kb * RM;
    const int k_count = clamp(Kg - k_local0, 0, RM);
    const long plane = (long)in_height * in_width;
    __global const float *x = input + ((long)n * in_channels + (long)group * Cg) * plane;
    // This block's packed filters; work-items past the last block read the last one
    // and store nothing.
    const int blocks = (Kg + RM - 1) / RM;
    __global const float *w_pack = weights + ((long)group * blocks + min(kb, blocks - 1)) * Cg * RM;

    floatv acc[RM];
    #pragma unroll
    for (int m = 0; m < RM; ++m)
        acc[m] = (floatv)((has_bias && m < k_count) ? bias[group * Kg + k_local0 + m] : 0.0f);

    if (lanes > 0) {
        const int h = flat ? 0 : border_index(i * stride_h - pad_top, in_height, border);
        const int first = flat ? p0 : j0 * stride_w - pad_left;
        const int last = first + (lanes - 1) * stride_w;
        const bool row_inside = flat || (first >= 0 && last < in_width);
        const int base = flat ? p0 : h * in_width + first;
        const bool in_plane = h >= 0 && base >= 0 && base + RN * stride_w <= plane;
        const bool vector_ok = in_plane && (row_inside || border == BORDER_ZEROS);
        int lane_index[RN];
        #pragma unroll
        for (int q = 0; q < RN; ++q) lane_index[q] = q;
        const intv cols = (intv)(first) + vloadv(0, lane_index) * stride_w;
        const intv mask = (cols >= 0) & (cols < in_width);
        if (h < 0) {
            // A zero-border padding row: every lane is padding, only the bias remains.
        } else if (vector_ok && stride_w == 1) {
            if (row_inside) CHANNEL_LOOP(vloadv(0, xc), false)
            else CHANNEL_LOOP(vloadv(0, xc), true)
        } else if (vector_ok && stride_w == 2) {
            if (row_inside) CHANNEL_LOOP(load_s2(xc), false)
            else CHANNEL_LOOP(load_s2(xc), true)
        } else {
            int safe[RN];
            int valid_lanes[RN];
            #pragma unroll
            for (int q = 0; q < RN; ++q) {
                const int col = flat ? 0 : border_index(first + q * stride_w, in_width, border);
                const int offset = (q < lanes && col >= 0) ? (flat ? p0 + q : h * in_width + col) : -1;
                valid_lanes[q] = offset >= 0 ? -1 : 0;
                safe[q] = max(offset, 0) - base;
            }
            const intv mask = vloadv(0, valid_lanes);
            CHANNEL_LOOP(gather_safe(xc, safe), true)
        }
    }

    if (lanes <= 0) return;
    #pragma unroll
    for (int m = 0; m < k_count; ++m) {
        const int k = group * Kg + k_local0 + m;
        __global float *y = output + ((long)n * out_channels + k) * pixels + p0;
        float values[RN];
        vstorev(acc[m], 0, values);
        if (lanes == RN && act == ACT_IDENTITY) {
            vstorev(acc[m], 0, y);
        } else {
            #pragma unroll
            for (int q = 0; q < lanes; ++q) y[q] = activate(values[q], act, act_p0, act_p1);
        }
    }
}
