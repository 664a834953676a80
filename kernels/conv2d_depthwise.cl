// conv2d_depthwise.cl: depthwise convolutions (one input channel per group, any
// multiplier Kg, stride, dilation, padding and border), one row segment of one output
// channel per work-item.
//
// Computes the same y[n,k,i,j] as conv2d_direct.cl for Cg = 1 (semantics.md; border rule
// by index mapping, zero-border padding taps skipped, fused epilogue):
//   y[n,k,i,j] = act(b[k] + sum_{r,s} x^[n, k / Kg, i*sh - pt + r*dh, j*sw - pl + s*dw] * w[k,0,r,s])
// The float32 sum runs in the order bias, r, s (the reference's order).
//
// Work decomposition: a work-item owns RN consecutive output columns j0 .. j0+RN-1 of
// output row i of channel k (one float vector). Per tap: stride 1 reads one vloadRN,
// stride 2 two contiguous loads with the even lanes kept (`load_s2`), masked on zero-border
// padding lanes; other strides, mapped borders at the row edges and reads past the plane
// gather lane by lane. Adjacent work-items of dimension 0 own adjacent segments of one
// row, so a work-group reads consecutive memory. KERNEL_H/KERNEL_W fix the filter size at
// compile time (3x3: fully unrolled tap loop, the 9 weights in registers); 0 = generic.
//
// Layout: input NCHW, weights K1RS, bias [K], output NKHW; dense float32.
// 64-bit (long) flat offsets; signed int coordinates with explicit bounds checks.
//
// Defines (code generation only; every size is an argument):
//   TN       work-items per work-group (local size 0), default 8
//   RN       output columns per work-item = float vector width: 2, 4, 8 or 16; default 8
//   KERNEL_H, KERNEL_W  unrolled filter size; 0 (default) = use kernel_h/kernel_w args.
//                       When nonzero they must equal the arguments.
//
// Launch: global = (roundup(OH * ceil(OW / RN), TN), K, N), local = (TN, 1, 1); the
// rounded-up tail stores nothing.
//
// Arguments, in order (the conv2d_igemm.cl order; channels_per_group must be 1):
//    0 input   __global const float*     1 weights  __global const float*
//    2 bias    __global const float* (any buffer when has_bias == 0)
//    3 output  __global float*
//    4 batch  5 in_channels  6 in_height  7 in_width
//    8 out_channels  9 out_height  10 out_width
//   11 kernel_h  12 kernel_w  13 stride_h  14 stride_w  15 dilation_h  16 dilation_w
//   17 pad_top  18 pad_left  19 channels_per_group (Cg = 1)  20 filters_per_group (Kg)
//   21 has_bias  22 border (0 zeros, 1 reflect, 2 replicate, 3 circular)
//   23 act (Activation.code)                                  (all int)
//   24 act_p0  25 act_p1 (float, Activation.parameters)

#ifndef TN
#define TN 8
#endif
#ifndef RN
#define RN 8
#endif
#ifndef KERNEL_H
#define KERNEL_H 0
#endif
#ifndef KERNEL_W
#define KERNEL_W 0
#endif
// Border and epilogue helpers (border_index, activate, FILTER_H/FILTER_W, ...) and the RN vector helpers (floatv,
// vloadv, load_s2, gather_safe): kernels/conv_common.cl,
// prepended by the host.


__kernel __attribute__((reqd_work_group_size(TN, 1, 1)))
void conv2d_depthwise(__global const float *restrict input,
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
                      const int has_bias, const int border,
                      const int act, const float act_p0, const float act_p1)
{
    const int px = (int)get_global_id(0);
    const int k = (int)get_global_id(1);
    const int n = (int)get_global_id(2);
    const int col_blocks = (out_width + RN - 1) / RN;
    const int i = px / col_blocks;
    const int j0 = (px - i * col_blocks) * RN;
    const int lanes = i < out_height ? min(RN, out_width - j0) : 0;
    if (lanes <= 0) return;
    const int channel = k / filters_per_group;
    const long plane = (long)in_height * in_width;
    __global const float *x = input + ((long)n * in_channels + channel) * plane;
    __global const float *w = weights + (long)k * FILTER_H * FILTER_W;

    int lane_index[RN];
    #pragma unroll
    for (int q = 0; q < RN; ++q) lane_index[q] = q;
    const intv lane_ids = vloadv(0, lane_index);

    floatv acc = (floatv)(has_bias ? bias[k] : 0.0f);
    #pragma unroll
    for (int r = 0; r < FILTER_H; ++r) {
        const int h = border_index(i * stride_h - pad_top + r * dilation_h, in_height, border);
        if (h < 0) continue;
        #pragma unroll
        for (int s = 0; s < FILTER_W; ++s) {
            const float weight = w[r * FILTER_W + s];
            const int first = j0 * stride_w - pad_left + s * dilation_w;
            const int last = first + (lanes - 1) * stride_w;
            const bool row_inside = first >= 0 && last < in_width;
            const int base = h * in_width + first;
            const bool in_plane = base >= 0 && base + RN * stride_w <= plane;
            const bool vector_ok = in_plane && (row_inside || border == BORDER_ZEROS);
            const intv cols = (intv)(first) + lane_ids * stride_w;
            const intv mask = (cols >= 0) & (cols < in_width);
            floatv v;
            bool masked = !row_inside;
            if (vector_ok && stride_w == 1) {
                v = vloadv(0, x + base);
            } else if (vector_ok && stride_w == 2) {
                v = load_s2(x + base);
            } else {
                float values[RN];
                int valid_lanes[RN];
                #pragma unroll
                for (int q = 0; q < RN; ++q) {
                    const int col = border_index(first + q * stride_w, in_width, border);
                    const bool valid = q < lanes && col >= 0;
                    values[q] = valid ? x[h * in_width + col] : 0.0f;
                    valid_lanes[q] = valid ? -1 : 0;
                }
                v = vloadv(0, values);
                const intv gather_mask = vloadv(0, valid_lanes);
                acc = madd_keep(v, weight, acc, gather_mask);
                continue;
            }
            acc = masked ? madd_keep(v, weight, acc, mask) : madd(v, weight, acc);
        }
    }

    __global float *y = output + (((long)n * out_channels + k) * out_height + i) * out_width + j0;
    if (lanes == RN && act == ACT_IDENTITY) {
        vstorev(acc, 0, y);
    } else {
        float values[RN];
        vstorev(acc, 0, values);
        #pragma unroll
        for (int q = 0; q < lanes; ++q) y[q] = activate(values[q], act, act_p0, act_p1);
    }
}
