// conv2d_igemm.cl: 2-D convolution as an implicit GEMM with register blocking, vector
// loads and (optionally) local-memory tiles.
//
// Computes the same y[n,k,i,j] as conv2d_direct.cl (semantics.md; border rule by index
// mapping, zero-border padding taps skipped, fused epilogue) as the GEMM
//   Y[k, p] = act(b[k] + sum_{t = (r, s, c)} W[k, t] * X[t, p])
// over M = Kg filters, N = output pixels of one image and group, reduction Cg*R*S; X is
// never materialised (every tap is gathered from the input through the border mapping).
// The float32 sum per output runs in the order bias, r, s, c (taps outer so the gather
// offsets are computed once per tap, channels inner); on small-integer data that equals
// the reference exactly, on general floats within Agreement.directTau.
//
// Work decomposition: a work-item owns a register block of RM filters x RN output pixels
// (RN accumulators per float vector, RM vectors). Pixels are RN consecutive output
// columns of one output row ("row" mode), or, when `flat` = 1 (1x1 filter, stride 1, no
// padding: the input plane is the pixel axis), RN consecutive flattened pixels, or, when
// `flat` = 2 ("pair" mode, USE_LOCAL = 0 and RN >= 4 only, for out_width <= RN/2: short
// rows would leave most lanes empty), two output rows i, i+1 with RN/2 lanes each. A
// work-group is TN x TM work-items: TN pixel blocks (dimension 0, adjacent work-items
// read adjacent vectors: coalesced) by TM filter blocks (dimension 1). With USE_LOCAL = 1
// the work-group stages, per tap and per TK input channels, the weight tile
// [TM*RM][TK] and the input tile [TK][TN*RN] in local memory (two barriers per chunk),
// so each global element is read once per work-group; with USE_LOCAL = 0 (CPU devices,
// where caches do that) every work-item reads global memory directly and there is no
// barrier. USE_LOCAL = 1 gathers the input tile with one vloadRN per channel on interior
// stride-1 taps, lane by lane otherwise. USE_LOCAL = 0 computes per tap only the input row
// and first column: taps inside the plane read one vloadRN (stride 1) or two contiguous
// vectors with the even lanes kept (stride 2, `load_s2`), masked on padding lanes of the
// zero border; only other strides, mapped borders at a row edge and reads past the plane
// compute per-lane offsets and gather (padding lanes are masked out, not multiplied by
// zero, so a non-finite weight never meets padding).
//
// Layout: input NCHW, weights KCRS (C = Cg), bias [K], output NKHW; dense float32. The CPU
// path (USE_LOCAL = 0) reads the weights repacked by `pack_filters` (conv_common.cl): per
// block of RM filters [R*S][Cg][RM], so each step of the channel loop reads RM adjacent
// weights behind one pointer (in place, 16 filter-row pointers were spilled to the stack).
// Pair mode has its own entry point, `conv2d_igemm_pairs`; both share `igemm_block`.
// 64-bit (long) flat offsets; signed int coordinates with explicit bounds checks. Work-
// items of the rounded-up tail still join the loads and barriers, and store nothing.
//
// Defines (code generation only; every size is an argument):
//   TN         work-items along pixels  = local size 0, default 8
//   TM         work-items along filters = local size 1, default 8
//   RN         output pixels per work-item = float vector width: 2, 4, 8 or 16; default 4
//   RM         filters per work-item (registers), default 4
//   USE_LOCAL  1 = local-memory tiles (GPUs), 0 = direct global reads (CPUs); default 1
//   TK         input channels per local-memory chunk (USE_LOCAL = 1), default 8
//
// Launch: global = (roundup(P, TN), roundup(ceil(Kg / RM), TM), N * groups),
// local = (TN, TM, 1), with P = ceil(OH*OW / RN) when flat = 1, ceil(OH / 2) when flat = 2,
// else OH * ceil(OW / RN).
//
// Arguments, in order (both entry points):
//    0 input   __global const float*     1 weights  __global const float* (packed when USE_LOCAL = 0)
//    2 bias    __global const float* (any buffer when has_bias == 0)
//    3 output  __global float*
//    4 batch  5 in_channels  6 in_height  7 in_width
//    8 out_channels  9 out_height  10 out_width
//   11 kernel_h  12 kernel_w  13 stride_h  14 stride_w  15 dilation_h  16 dilation_w
//   17 pad_top  18 pad_left  19 channels_per_group (Cg)  20 filters_per_group (Kg)
//   21 has_bias  22 flat (1: pixels are the flattened plane, only for 1x1, stride 1, pad 0;
//                         2: pairs of output rows, only USE_LOCAL 0, RN >= 4, OW <= RN/2; 0: rows)
//   23 border (0 zeros, 1 reflect, 2 replicate, 3 circular)  24 act (Activation.code)
//                                                             (all int)
//   25 act_p0  26 act_p1 (float, Activation.parameters)

#ifndef TN
#define TN 8
#endif
#ifndef TM
#define TM 8
#endif
#ifndef RN
#define RN 4
#endif
#ifndef RM
#define RM 4
#endif
#ifndef USE_LOCAL
#define USE_LOCAL 1
#endif
#ifndef TK
#define TK 8
#endif

// Border and epilogue helpers (border_index, activate, ...) and the RN vector helpers (floatv,
// vloadv, load_s2, gather_safe): kernels/conv_common.cl,
// prepended by the host.

// RN values of one channel plane: a vector load when `contiguous`, else lane by lane
// through `offsets` (-1 = zero cell).
inline floatv gather(__global const float *plane, const int base, const bool contiguous,
                     const int *offsets)
{
    if (contiguous) return vloadv(0, plane + base);
    float lanes[RN];
    #pragma unroll
    for (int q = 0; q < RN; ++q) lanes[q] = offsets[q] >= 0 ? plane[offsets[q]] : 0.0f;
    return vloadv(0, lanes);
}

// Pair mode (RN >= 4): half-vectors of RN/2 lanes from two input rows, `second` floats apart.
#if RN >= 4
#if RN == 4
#define HALF 2
#define vloadhalf vload2
#define load_s2_half(p) (vload4(0, (p)).even)
#elif RN == 8
#define HALF 4
#define vloadhalf vload4
#define load_s2_half(p) (vload8(0, (p)).even)
#else
#define HALF 8
#define vloadhalf vload8
#define load_s2_half(p) (vload16(0, (p)).even)
#endif
#define pair_load(p, second) ((floatv)(vloadhalf(0, (p)), vloadhalf(0, (p) + (second))))
#define pair_load_s2(p, second) ((floatv)(load_s2_half(p), load_s2_half((p) + (second))))
#endif


// The arguments of both entry points, in the header's order.
#define IGEMM_PARAMS \
    __global const float *restrict input, __global const float *restrict weights,\
    __global const float *restrict bias, __global float *restrict output,\
    const int batch, const int in_channels, const int in_height, const int in_width,\
    const int out_channels, const int out_height, const int out_width,\
    const int kernel_h, const int kernel_w, const int stride_h, const int stride_w,\
    const int dilation_h, const int dilation_w, const int pad_top, const int pad_left,\
    const int channels_per_group, const int filters_per_group, const int has_bias, const int flat,\
    const int border, const int act, const float act_p0, const float act_p1

// The channel loop of one tap (CPU path): acc[m] += LOAD * w[k_m, c, tap] for every channel
// c, the product dropped on lanes outside `mask` (on AVX-512 a masked FMA costs what a
// plain one does, and one loop per load kind keeps PoCL's accumulators in registers). xc
// walks the planes from x + base, wt the packed filters of the tap.
#define CHANNEL_LOOP(LOAD)                                                                \
    {                                                                                     \
        __global const float *xc = x + base;                                              \
        __global const float *wt = w_pack + (long)tap * Cg * RM;                          \
        for (int c = 0; c < Cg; ++c) {                                                    \
            const floatv v = LOAD;                                                        \
            _Pragma("unroll") for (int m = 0; m < RM; ++m) {                              \
                const float wm = wt[m];                                                   \
                acc[m] = madd_keep(v, wm, acc[m], mask);                                  \
            }                                                                             \
            xc += plane;                                                                  \
            wt += RM;                                                                     \
        }                                                                                 \
    }

// The body of both entry points. `pair_kernel` is a constant at each call, so each kernel
// keeps only its own loop nests: with the row and pair nests in one function PoCL's
// register allocator copied the 16 accumulators through the stack every iteration (perf
// annotate: 3x3 64@56 ran at a third of the FMA rate).
__attribute__((always_inline)) inline void igemm_block(IGEMM_PARAMS, const bool pair_kernel,
                                                       __local float (*w_tile)[TK], __local float (*x_tile)[TN * RN])
{
    const int px = (int)get_global_id(0);
    const int kb = (int)get_global_id(1);
    const int ng = (int)get_global_id(2);
    const int groups = out_channels / filters_per_group;
    const int group = ng % groups;
    const int n = ng / groups;
    const int Kg = filters_per_group, Cg = channels_per_group;

    // This work-item's pixels: output row i, columns j0 .. j0+RN-1 (row mode), or the
    // flattened pixels p0 .. p0+RN-1 (flat mode); `lanes` of them are real.
    const int pixels = out_height * out_width;
    int i, j0, p0, lanes;
#if USE_LOCAL || RN < 4
    const bool paired = false;
#else
    const bool paired = pair_kernel;
#endif
    if (flat == 1) {
        p0 = px * RN;
        i = 0;
        j0 = 0;
        lanes = clamp(pixels - p0, 0, RN);
    } else if (paired) {
        // Output rows i, i+1 (out_width <= RN/2): lane q is row i + q / (RN/2), column
        // q % (RN/2).
        i = px * 2;
        j0 = 0;
        p0 = i * out_width;
        lanes = i < out_height ? RN : 0;
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
    const int taps = kernel_h * kernel_w;
    __global const float *x = input + ((long)n * in_channels + (long)group * Cg) * plane;

    floatv acc[RM];
    #pragma unroll
    for (int m = 0; m < RM; ++m)
        acc[m] = (floatv)((has_bias && m < k_count) ? bias[group * Kg + k_local0 + m] : 0.0f);

#if USE_LOCAL
    const long filter_stride = (long)Cg * taps;
    __global const float *w = weights + ((long)group * Kg) * filter_stride;
    const int lx = (int)get_local_id(0), ly = (int)get_local_id(1);
    const int lid = ly * TN + lx;
    const int k_group0 = (int)get_group_id(1) * TM * RM;
#endif

#if USE_LOCAL
    for (int r = 0; r < kernel_h; ++r) {
        for (int s = 0; s < kernel_w; ++s) {
            const int tap = r * kernel_w + s;
            // Gather offsets of this tap for every lane, and whether one vector load does.
            int offsets[RN];
            bool contiguous;
            bool any_valid = false;
            intv mask;
            int base = 0;
            if (flat == 1) {
                contiguous = lanes == RN;
                base = p0;
                #pragma unroll
                for (int q = 0; q < RN; ++q) offsets[q] = q < lanes ? p0 + q : -1;
            } else {
                const int h = border_index(i * stride_h - pad_top + r * dilation_h, in_height, border);
                const int col0 = j0 * stride_w - pad_left + s * dilation_w;
                contiguous = lanes > 0 && h >= 0 && stride_w == 1 && col0 >= 0 && col0 + RN <= in_width;
                base = h * in_width + col0;
                #pragma unroll
                for (int q = 0; q < RN; ++q) {
                    const int col = border_index(col0 + q * stride_w, in_width, border);
                    offsets[q] = (q < lanes && h >= 0 && col >= 0) ? h * in_width + col : -1;
                }
            }
            int valid_lanes[RN];
            #pragma unroll
            for (int q = 0; q < RN; ++q) {
                valid_lanes[q] = offsets[q] >= 0 ? -1 : 0;
                any_valid = any_valid || offsets[q] >= 0;
            }
            mask = vloadv(0, valid_lanes);
            // Only the zero border leaves cells to skip; mapped borders never give -1 for a
            // real lane, and tail lanes are never stored.
            const bool masked = !contiguous && border == BORDER_ZEROS;
            for (int c0 = 0; c0 < Cg; c0 += TK) {
                barrier(CLK_LOCAL_MEM_FENCE);
                for (int t = lid; t < TM * RM * TK; t += TN * TM) {
                    const int mm = t / TK, kk = t - mm * TK;
                    const int k = k_group0 + mm, c = c0 + kk;
                    w_tile[mm][kk] = (k < Kg && c < Cg) ? w[(long)k * filter_stride + (long)c * taps + tap] : 0.0f;
                }
                for (int kk = ly; kk < TK; kk += TM) {
                    const int c = c0 + kk;
                    const floatv v = (c < Cg && any_valid) ? gather(x + c * plane, base, contiguous, offsets) : (floatv)0.0f;
                    vstorev(v, 0, &x_tile[kk][lx * RN]);
                }
                barrier(CLK_LOCAL_MEM_FENCE);
                const int chunk = min(TK, Cg - c0);
                for (int kk = 0; kk < chunk; ++kk) {
                    const floatv v = vloadv(0, &x_tile[kk][lx * RN]);
                    #pragma unroll
                    for (int m = 0; m < RM; ++m) {
                        const float wm = w_tile[ly * RM + m][kk];
                        acc[m] = masked ? madd_keep(v, wm, acc[m], mask) : madd(v, wm, acc[m]);
                    }
                }
            }
        }
    }
#else
    // Work-items past the last filter block read it again (its tail lanes repeat the last
    // filter); their sums are never stored.
    const int blocks = (Kg + RM - 1) / RM;
    __global const float *w_pack = weights + ((long)group * blocks + min(kb, blocks - 1)) * taps * Cg * RM;
    // CPU path: per tap only the row and the first column are computed; the lane offsets
    // are needed (and computed) only where a tap leaves the plane or maps a border.
    int lane_index[RN];
    #pragma unroll
    for (int q = 0; q < RN; ++q) lane_index[q] = q;
    const intv lane_ids = vloadv(0, lane_index);
#if RN >= 4
    if (paired && lanes > 0) {
        // Two output rows per vector (out_width <= RN/2): per tap one half-vector from each
        // input row (stride 1: vloadHALF, stride 2: load_s2_half), masked on padding rows,
        // padding columns and the tail row; gather only at mapped-border edges or other
        // strides.
        const bool has_b = i + 1 < out_height;
        int col_index[RN], half_index[RN];
        #pragma unroll
        for (int q = 0; q < RN; ++q) {
            col_index[q] = q % HALF;
            half_index[q] = q / HALF;
        }
        const intv lane_col = vloadv(0, col_index);
        const intv lane_half = vloadv(0, half_index);
        for (int r = 0; r < kernel_h; ++r) {
            const int hA = border_index(i * stride_h - pad_top + r * dilation_h, in_height, border);
            const int hB = has_b ? border_index((i + 1) * stride_h - pad_top + r * dilation_h, in_height, border) : -1;
            if (hA < 0 && hB < 0) continue;
            const int rowA = hA >= 0 ? hA : hB, rowB = hB >= 0 ? hB : hA;
            const intv row_ok = select((intv)(hB >= 0 ? -1 : 0), (intv)(hA >= 0 ? -1 : 0), lane_half == 0);
            for (int s = 0; s < kernel_w; ++s) {
                const int tap = r * kernel_w + s;
                const int first = -pad_left + s * dilation_w;
                const int last = first + (out_width - 1) * stride_w;
                const bool row_inside = first >= 0 && last < in_width;
                const int base = rowA * in_width + first;
                const int second = rowB * in_width + first - base;
                const bool in_plane = min(base, base + second) >= 0 && max(base, base + second) + HALF * stride_w <= plane;
                const bool vector_ok = in_plane && (row_inside || border == BORDER_ZEROS);
                const intv cols = (intv)(first) + lane_col * stride_w;
                const intv mask = row_ok & (cols >= 0) & (cols < in_width);
                if (vector_ok && stride_w == 1) {
                    CHANNEL_LOOP(pair_load(xc, second))
                } else if (vector_ok && stride_w == 2) {
                    CHANNEL_LOOP(pair_load_s2(xc, second))
                } else {
                    int safe[RN];
                    int valid_lanes[RN];
                    #pragma unroll
                    for (int q = 0; q < RN; ++q) {
                        const int hq = q < HALF ? hA : hB;
                        const int col = border_index(first + (q % HALF) * stride_w, in_width, border);
                        const int offset = (hq >= 0 && col >= 0 && q % HALF < out_width) ? hq * in_width + col : -1;
                        valid_lanes[q] = offset >= 0 ? -1 : 0;
                        safe[q] = max(offset, 0) - base;
                    }
                    const intv gather_mask = vloadv(0, valid_lanes);
                    {
                        const intv mask = gather_mask;
                        CHANNEL_LOOP(gather_safe(xc, safe))
                    }
                }
            }
        }
    } else
#endif
    if (lanes > 0) {
        for (int r = 0; r < kernel_h; ++r) {
            const int h = flat == 1 ? 0 : border_index(i * stride_h - pad_top + r * dilation_h, in_height, border);
            // A zero-border padding row (or one no border maps): every lane is padding.
            if (h < 0) continue;
            for (int s = 0; s < kernel_w; ++s) {
                const int tap = r * kernel_w + s;
                const int first = flat == 1 ? p0 : j0 * stride_w - pad_left + s * dilation_w;
                const int last = first + (lanes - 1) * stride_w;
                const bool row_inside = flat == 1 || (first >= 0 && last < in_width);
                const int base = flat == 1 ? p0 : h * in_width + first;
                // In-plane vector reads: tail lanes read neighbours and are never stored;
                // lanes outside the row are masked (zero border) or need the gather.
                const bool in_plane = base >= 0 && base + RN * stride_w <= plane;
                const bool vector_ok = in_plane && (row_inside || border == BORDER_ZEROS);
                // Lanes inside the row (in flat mode the plane is the row: every lane).
                const intv cols = (intv)(first) + lane_ids * stride_w;
                const intv mask = flat == 1 ? (intv)(-1) : (cols >= 0) & (cols < in_width);
                if (vector_ok && stride_w == 1) {
                    CHANNEL_LOOP(vloadv(0, xc))
                } else if (vector_ok && stride_w == 2) {
                    CHANNEL_LOOP(load_s2(xc))
                } else {
                    int safe[RN];
                    int valid_lanes[RN];
                    bool any_valid = false;
                    #pragma unroll
                    for (int q = 0; q < RN; ++q) {
                        const int col = flat == 1 ? 0 : border_index(first + q * stride_w, in_width, border);
                        const int offset = (q < lanes && col >= 0) ? (flat == 1 ? p0 + q : h * in_width + col) : -1;
                        valid_lanes[q] = offset >= 0 ? -1 : 0;
                        any_valid = any_valid || offset >= 0;
                        safe[q] = max(offset, 0) - base;
                    }
                    if (!any_valid) continue;
                    const intv gather_mask = vloadv(0, valid_lanes);
                    {
                        const intv mask = gather_mask;
                        CHANNEL_LOOP(gather_safe(xc, safe))
                    }
                }
            }
        }
    }
#endif

    if (lanes <= 0) return;
    if (paired) {
        for (int m = 0; m < k_count; ++m) {
            const int k = group * Kg + k_local0 + m;
            __global float *y = output + ((long)n * out_channels + k) * pixels + p0;
            float values[RN];
            vstorev(acc[m], 0, values);
            const bool has_b = i + 1 < out_height;
            for (int q = 0; q < out_width; ++q) {
                y[q] = activate(values[q], act, act_p0, act_p1);
                if (has_b) y[out_width + q] = activate(values[RN / 2 + q], act, act_p0, act_p1);
            }
        }
        return;
    }
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

// OpenCL C allows __local variables only at kernel scope.
#if USE_LOCAL
#define LOCAL_TILES __local float w_tile[TM * RM][TK]; __local float x_tile[TK][TN * RN];
#else
#define LOCAL_TILES __local float (*w_tile)[TK] = 0; __local float (*x_tile)[TN * RN] = 0;
#endif

__kernel __attribute__((reqd_work_group_size(TN, TM, 1)))
void conv2d_igemm(IGEMM_PARAMS)
{
    LOCAL_TILES
    igemm_block(input, weights, bias, output, batch, in_channels, in_height, in_width, out_channels,
                 out_height, out_width, kernel_h, kernel_w, stride_h, stride_w, dilation_h, dilation_w,
                 pad_top, pad_left, channels_per_group, filters_per_group, has_bias, flat, border, act,
                 act_p0, act_p1, false, w_tile, x_tile);
}

// Pair mode (`flat` = 2; only USE_LOCAL = 0 with RN >= 4, else the row kernel again): the
// host launches this entry point instead.
__kernel __attribute__((reqd_work_group_size(TN, TM, 1)))
void conv2d_igemm_pairs(IGEMM_PARAMS)
{
    LOCAL_TILES
    igemm_block(input, weights, bias, output, batch, in_channels, in_height, in_width, out_channels,
                 out_height, out_width, kernel_h, kernel_w, stride_h, stride_w, dilation_h, dilation_w,
                 pad_top, pad_left, channels_per_group, filters_per_group, has_bias, flat, border, act,
                 act_p0, act_p1, true, w_tile, x_tile);
}
