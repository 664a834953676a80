// conv2d_direct.cl: the general 2-D convolution, one work-item per output element.
//
// Computes, for every n, k, i, j (semantics.md, cross-correlation):
//   y[n,k,i,j] = act(b[k] + sum_{c<Cg} sum_{r<R} sum_{s<S}
//                    x^[n, g*Cg + c, i*sh - pt + r*dh, j*sw - pl + s*dw] * w[k,c,r,s])
// with g = k / Kg and x^ the input extended by the border rule (`border` argument:
// zeros, reflect, replicate, circular), mapped per index (no padded copy). With the zero
// border, taps that fall into the padding are skipped (not multiplied by 0), exactly
// like the float64 reference, so a NaN or Inf weight only spreads where IEEE arithmetic
// on the real inputs spreads it. The sum runs in float32 in the fixed order bias, c, r,
// s; the fused epilogue `act` (an argument, with two float parameters) follows it.
// This kernel is right for every geometry; faster ones fall back to it.
//
// Layout: input NCHW, weights KCRS (C = Cg), bias [K], output NKHW; all dense float32.
// Flat offsets are 64-bit (long); spatial coordinates are signed int with explicit
// bounds checks.
//
// Defines (code generation only; every size is an argument):
//   WG_X     work-group width  (output columns), default 16
//   WG_Y     work-group height (output rows),    default 4
//   KERNEL_H, KERNEL_W  unrolled filter size; 0 (default) = use kernel_h/kernel_w args.
//                       When nonzero they must equal the arguments.
//
// Launch: global = (roundup(OW, WG_X), roundup(OH, WG_Y), N*K), local = (WG_X, WG_Y, 1);
// the rounded-up tail returns early.
//
// Arguments, in order:
//    0 input   __global const float*     1 weights  __global const float*
//    2 bias    __global const float* (any buffer when has_bias == 0)
//    3 output  __global float*
//    4 batch  5 in_channels  6 in_height  7 in_width
//    8 out_channels  9 out_height  10 out_width
//   11 kernel_h  12 kernel_w  13 stride_h  14 stride_w  15 dilation_h  16 dilation_w
//   17 pad_top  18 pad_left  19 channels_per_group (Cg)  20 filters_per_group (Kg)
//   21 has_bias  22 border (0 zeros, 1 reflect, 2 replicate, 3 circular)
//   23 act (Activation.code)                                  (all int)
//   24 act_p0  25 act_p1 (float, Activation.parameters)

#ifndef WG_X
#define WG_X 16
#endif
#ifndef WG_Y
#define WG_Y 4
#endif
#ifndef KERNEL_H
#define KERNEL_H 0
#endif
#ifndef KERNEL_W
#define KERNEL_W 0
#endif

// Border and epilogue helpers (border_index, activate, FILTER_H/FILTER_W, ...): kernels/conv_common.cl,
// prepended by the host.

__kernel __attribute__((reqd_work_group_size(WG_X, WG_Y, 1)))
void conv2d_direct(__global const float *restrict input,
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
    const int j = (int)get_global_id(0);
    const int i = (int)get_global_id(1);
    if (j >= out_width || i >= out_height) return;
    const int nk = (int)get_global_id(2);
    const int k = nk % out_channels;
    const int n = nk / out_channels;
    const int group = k / filters_per_group;

    const int row0 = i * stride_h - pad_top;
    const int col0 = j * stride_w - pad_left;
    const long plane = (long)in_height * in_width;
    const long taps = (long)FILTER_H * FILTER_W;
    __global const float *x = input + ((long)n * in_channels + (long)group * channels_per_group) * plane;
    __global const float *w = weights + (long)k * channels_per_group * taps;

    float acc = has_bias ? bias[k] : 0.0f;
    for (int c = 0; c < channels_per_group; ++c) {
        for (int r = 0; r < FILTER_H; ++r) {
            const int h = border_index(row0 + r * dilation_h, in_height, border);
            if (h < 0) continue;
            __global const float *x_row = x + (long)h * in_width;
            __global const float *w_row = w + r * FILTER_W;
            for (int s = 0; s < FILTER_W; ++s) {
                const int col = border_index(col0 + s * dilation_w, in_width, border);
                if (col < 0) continue;
                acc = fma(x_row[col], w_row[s], acc);
            }
        }
        x += plane;
        w += taps;
    }
    output[(((long)n * out_channels + k) * out_height + i) * out_width + j] = activate(acc, act, act_p0, act_p1);
}
