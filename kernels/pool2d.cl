// pool2d.cl: 2-D max and average pooling (semantics.md, Pooling), and global pooling.
//
// pool2d: one work-item per output element (n, c, i, j) of the window
//   rows h = i*stride_h - pad_top  + r*dilation_h   (r < window_h)
//   cols w = j*stride_w - pad_left + s*dilation_w   (s < window_w)
// Output sizes (floor or ceil rule) come from the host's PoolGeometry; the kernel only
// needs them for the bounds check.
//   max      the largest real input cell; padding counts as -inf, so a window of padding
//            only gives -inf. A NaN anywhere in the window gives NaN: OpenCL's fmax
//            ignores NaN, so the compare is isnan-aware. A tie takes the later cell, as
//            the float64 reference does (only visible for +0 / -0).
//   average  float32 sum of the real cells in the order r, s, then ONE division by the
//            integer divisor: the real cells (count_include_pad == 0) or the cells inside
//            the padded input [-pad_top, in_height + pad_bottom) x [-pad_left, in_width
//            + pad_right) (count_include_pad == 1), never the ceil-mode overhang. A
//            divisor of 0 (a window of padding only) gives 0. Small-integer data is
//            exact when the division is correctly rounded (the host passes
//            -cl-fp32-correctly-rounded-divide-sqrt where the device offers it).
//
// global_pool2d: one work-group per plane (n, c) reduces all in_height*in_width cells:
//   each of the WG_X*WG_Y lanes folds a strided share, then a tree in local memory
//   combines the lanes (max: isnan-aware; average: sum, then one division by the count).
//
// Layout: input NCHW, output N x C x OH x OW (1 x 1 for global); dense float32.
// 64-bit (long) flat offsets; signed int coordinates with explicit bounds checks.
//
// Defines (code generation only; every size is an argument):
//   WG_X  pool2d work-group width  (output columns), default 16
//   WG_Y  pool2d work-group height (output rows),    default 4
//   global_pool2d uses WG_X*WG_Y lanes, which must be a power of two.
//
// Launch:
//   pool2d        global = (roundup(OW, WG_X), roundup(OH, WG_Y), N*C), local = (WG_X, WG_Y, 1);
//                 the rounded-up tail returns early.
//   global_pool2d global = (WG_X*WG_Y*N*C), local = (WG_X*WG_Y).
//
// Arguments of pool2d, in order:
//    0 input   __global const float*     1 output  __global float*
//    2 planes (N*C)  3 in_height  4 in_width  5 out_height  6 out_width
//    7 window_h  8 window_w  9 stride_h  10 stride_w  11 dilation_h  12 dilation_w
//   13 pad_top  14 pad_bottom  15 pad_left  16 pad_right
//   17 mode (0 max, 1 average)  18 count_include_pad                (all int)
//
// Arguments of global_pool2d, in order:
//    0 input   __global const float*     1 output  __global float*
//    2 scratch __local float[WG_X*WG_Y]
//    3 planes (N*C)  4 plane_size (H*W)  5 mode (0 max, 1 average)  (all int)

#ifndef WG_X
#define WG_X 16
#endif
#ifndef WG_Y
#define WG_Y 4
#endif

#define MODE_MAX 0
#define MODE_AVERAGE 1
#define LANES (WG_X * WG_Y)

// max(m, v) that keeps a NaN once seen; a tie takes v (the reference's Swift max).
inline float max_keeping_nan(const float m, const float v)
{
    return (isnan(v) || v >= m) ? v : m;
}

__kernel __attribute__((reqd_work_group_size(WG_X, WG_Y, 1)))
void pool2d(__global const float *restrict input,
            __global float *restrict output,
            const int planes, const int in_height, const int in_width,
            const int out_height, const int out_width,
            const int window_h, const int window_w,
            const int stride_h, const int stride_w,
            const int dilation_h, const int dilation_w,
            const int pad_top, const int pad_bottom, const int pad_left, const int pad_right,
            const int mode, const int count_include_pad)
{
    const int j = (int)get_global_id(0);
    const int i = (int)get_global_id(1);
    const int plane = (int)get_global_id(2);
    if (j >= out_width || i >= out_height || plane >= planes) return;

    const int row0 = i * stride_h - pad_top;
    const int col0 = j * stride_w - pad_left;
    __global const float *x = input + (long)plane * in_height * in_width;

    // Divisor taps per axis: inside the input (real) and inside the padded input.
    int rows_real = 0, rows_padded = 0, cols_real = 0, cols_padded = 0;
    for (int r = 0; r < window_h; ++r) {
        const int h = row0 + r * dilation_h;
        rows_real += (h >= 0 && h < in_height);
        rows_padded += (h >= -pad_top && h < in_height + pad_bottom);
    }
    for (int s = 0; s < window_w; ++s) {
        const int w = col0 + s * dilation_w;
        cols_real += (w >= 0 && w < in_width);
        cols_padded += (w >= -pad_left && w < in_width + pad_right);
    }

    float maximum = -INFINITY;
    float sum = 0.0f;
    for (int r = 0; r < window_h; ++r) {
        const int h = row0 + r * dilation_h;
        if (h < 0 || h >= in_height) continue;
        __global const float *x_row = x + (long)h * in_width;
        for (int s = 0; s < window_w; ++s) {
            const int w = col0 + s * dilation_w;
            if (w < 0 || w >= in_width) continue;
            const float v = x_row[w];
            maximum = max_keeping_nan(maximum, v);
            sum += v;
        }
    }

    float y;
    if (mode == MODE_MAX) {
        y = maximum;
    } else {
        const int divisor = count_include_pad ? rows_padded * cols_padded : rows_real * cols_real;
        y = divisor == 0 ? 0.0f : sum / (float)divisor;
    }
    output[((long)plane * out_height + i) * out_width + j] = y;
}

__kernel __attribute__((reqd_work_group_size(LANES, 1, 1)))
void global_pool2d(__global const float *restrict input,
                   __global float *restrict output,
                   __local float *scratch,
                   const int planes, const int plane_size, const int mode)
{
    const int lane = (int)get_local_id(0);
    const int plane = (int)get_group_id(0);
    if (plane >= planes) return;  // uniform per work-group, so no barrier is skipped unevenly
    __global const float *x = input + (long)plane * plane_size;

    float value = mode == MODE_MAX ? -INFINITY : 0.0f;
    for (int t = lane; t < plane_size; t += LANES) {
        const float v = x[t];
        value = mode == MODE_MAX ? max_keeping_nan(value, v) : value + v;
    }
    scratch[lane] = value;
    for (int span = LANES / 2; span > 0; span /= 2) {
        barrier(CLK_LOCAL_MEM_FENCE);
        if (lane < span) {
            const float other = scratch[lane + span];
            scratch[lane] = mode == MODE_MAX ? max_keeping_nan(scratch[lane], other) : scratch[lane] + other;
        }
    }
    if (lane == 0) {
        const float total = scratch[0];
        output[plane] = mode == MODE_MAX ? total : total / (float)plane_size;
    }
}
