// conv_common.cl: the border and epilogue helpers every conv2d_*.cl kernel uses.
//
// Not a program of its own: the host prepends this file (with its own #line directive)
// to each convolution kernel's source, so the border mapping and the activations exist
// once. Border and activation codes are the Swift ones (BorderMode.kernelCode,
// Activation.code); a test checks them.

// ---- border and epilogue helpers ----
// Border codes = BorderMode.kernelCode (Swift); activation codes = Activation.code.
#define BORDER_ZEROS 0
#define BORDER_REFLECT 1
#define BORDER_REPLICATE 2
#define BORDER_CIRCULAR 3
#define ACT_IDENTITY 0
#define ACT_RELU 1
#define ACT_RELU6 2
#define ACT_CLAMP 3
#define ACT_LEAKY_RELU 4
#define ACT_SIGMOID 5
#define ACT_TANH 6

// The input index that the padded-coordinate `index` reads under `border`
// (BorderMode.sourceIndex), or -1 for a zero cell. A mapped index still outside
// 0..extent-1 (only the tiled kernel's rounded-up tail reaches that far) is -1 too.
inline int border_index(const int index, const int extent, const int border)
{
    if (index >= 0 && index < extent) return index;
    int mapped;
    switch (border) {
    case BORDER_REFLECT: mapped = extent == 1 ? 0 : (index < 0 ? -index : 2 * (extent - 1) - index); break;
    case BORDER_REPLICATE: mapped = index < 0 ? 0 : extent - 1; break;
    case BORDER_CIRCULAR: mapped = index < 0 ? index + extent : index - extent; break;
    default: return -1;
    }
    return (mapped >= 0 && mapped < extent) ? mapped : -1;
}

// Swift's max/min, including which operand wins a tie (+0 vs -0):
// max(a, b) = b >= a ? b : a, min(a, b) = b < a ? b : a.
inline float swift_max(const float a, const float b) { return b >= a ? b : a; }
inline float swift_min(const float a, const float b) { return b < a ? b : a; }

// y = act(x) as Activation.apply(Float): relu/relu6/clamp keep NaN, leaky relu is
// x >= 0 ? x : alpha*x (bit-identical to the host); sigmoid 1/(1+exp(-x)) and tanh use
// the device math library (within a few ulps of the host's). p0, p1 =
// Activation.parameters: clamp bounds (relu6: 0, 6) or alpha.
inline float activate(const float x, const int act, const float p0, const float p1)
{
    switch (act) {
    case ACT_RELU: return isnan(x) ? x : swift_max(x, 0.0f);
    case ACT_RELU6:
    case ACT_CLAMP: return isnan(x) ? x : swift_min(swift_max(x, p0), p1);
    case ACT_LEAKY_RELU: return x >= 0.0f ? x : p0 * x;
    case ACT_SIGMOID: return 1.0f / (1.0f + exp(-x));
    case ACT_TANH: return tanh(x);
    default: return x;
    }
}
// The filter extent of the kernels built with KERNEL_H/KERNEL_W defines (conv2d_direct.cl,
// conv2d_tiled.cl, conv2d_depthwise.cl): the define where a program was built for one
// size (> 0, so loops over it unroll), else the kernel_h/kernel_w argument.
#define FILTER_H (KERNEL_H > 0 ? KERNEL_H : kernel_h)
#define FILTER_W (KERNEL_W > 0 ? KERNEL_W : kernel_w)
// ---- end of shared helpers ----

// ---- vector helpers for the kernels built with an RN (pixels per vector) define:
// ---- conv2d_igemm.cl, conv2d_gemm1x1.cl, conv2d_depthwise.cl; the host always passes RN ----
#ifdef RN
#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define floatv CAT(float, RN)
#define intv CAT(int, RN)
#define vloadv CAT(vload, RN)
#define vstorev CAT(vstore, RN)

// RN lanes at stride 2 from `p`: contiguous loads of 2*RN floats, even lanes kept.
#if RN == 2
#define load_s2(p) (vload4(0, (p)).even)
#elif RN == 4
#define load_s2(p) (vload8(0, (p)).even)
#elif RN == 8
#define load_s2(p) (vload16(0, (p)).even)
#else
#define load_s2(p) ((float16)(vload16(0, (p)).even, vload16(1, (p)).even))
#endif

// acc + v * w as one fused multiply-add, and the same kept only on lanes where `keep` is
// set (acc unchanged elsewhere, so padding never meets a non-finite weight). Written out
// because PoCL's LLVM does not contract `acc += v * w` on its own: it emitted separate
// vmulps/vaddps, half the FMA rate of a CPU.
inline floatv madd(const floatv v, const float w, const floatv acc) { return fma(v, (floatv)(w), acc); }
inline floatv madd_keep(const floatv v, const float w, const floatv acc, const intv keep)
{
    return select(acc, fma(v, (floatv)(w), acc), keep);
}
// Lane by lane from in-bounds offsets (padding lanes read cell 0; the caller masks them).
inline floatv gather_safe(__global const float *p, const int *safe)
{
    float lanes[RN];
#pragma unroll
    for (int q = 0; q < RN; ++q) lanes[q] = p[safe[q]];
    return vloadv(0, lanes);
}
#endif

#ifdef RM
// Packs KCRS filters for the kernels that read them in blocks of RM (conv2d_igemm's CPU
// path and conv2d_gemm1x1, whose -D lists carry RM): per group, ceil(Kg / RM) blocks of
// [R*S][Cg][RM] (block b, tap t, channel c, lane m = filter b*RM + m; lanes past Kg repeat
// the last filter, whose sums are never stored), so the RM weights of one (tap, channel)
// sit side by side and a channel loop walks one pointer forward; a 1×1 filter (taps = 1)
// gives [Cg][RM]. A work-item writes the RM lanes of every tap of one (block, channel):
// global = (roundup(Cg, W), groups * ceil(Kg / RM)), local = (W, 1), W = 16 or the device
// limit; no division per float (with one per float the repack took half as long as the
// GEMM it fed).
//   0 weights (KCRS)  1 packed  2 filters_per_group (Kg)  3 channels_per_group (Cg)  4 taps (int)
__kernel void pack_filters(__global const float *restrict weights, __global float *restrict packed,
                           const int filters_per_group, const int channels_per_group, const int taps)
{
    const int Kg = filters_per_group, Cg = channels_per_group;
    const int c = (int)get_global_id(0);
    if (c >= Cg) return;
    const int blocks = (Kg + RM - 1) / RM;
    const int block = (int)get_global_id(1);
    const int group = block / blocks, first = (block - group * blocks) * RM;
    const long filter_stride = (long)Cg * taps;
    __global const float *w = weights + (long)group * Kg * filter_stride + (long)c * taps;
    for (int t = 0; t < taps; ++t) {
        __global float *out = packed + (((long)block * taps + t) * Cg + c) * RM;
        #pragma unroll
        for (int m = 0; m < RM; ++m) out[m] = w[(long)min(first + m, Kg - 1) * filter_stride + t];
    }
}
#endif
