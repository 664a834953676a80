#ifndef CONVKIT_KERNELS_INTERNAL_H
#define CONVKIT_KERNELS_INTERNAL_H

#include "convkit_kernels.h"

#if defined(__x86_64__) || defined(__i386__)
#define CK_X86 1
#include <immintrin.h>
// Applied per function so the rest of the target (and every Swift caller) keeps the
// baseline ISA; the runtime check in ck_has_avx2_fma guards every call.
#define CK_AVX2 __attribute__((target("avx2,fma")))
#define CK_AVX512 __attribute__((target("avx512f,avx512dq,avx512vl,avx2,fma,bmi2")))
// The same plus PREFETCHW, which every AVX-512 CPU has (one target attribute: a second
// one on the same function would not add to the first).
#define CK_AVX512_PRFCHW __attribute__((target("avx512f,avx512dq,avx512vl,avx2,fma,bmi2,prfchw")))
#else
#define CK_X86 0
#endif

// One register tile of the GEMM driver: `C = A·B (+ bias)` or `C += A·B`, then epilogue.
// `a` rows are `lda` apart (read in place); `b` is an NR-column panel `kc` deep.
typedef void (*ck_tile_fn)(int kc, const float *a, ptrdiff_t lda, const float *b, float *c, ptrdiff_t ldc,
                           int rows, int columns, const float *bias, int accumulate, const ck_epilogue *epilogue);
// The tile for this CPU, with its MR×NR shape.
ck_tile_fn ck_select_tile(int *mr, int *nr);

// Depth (taps) and pixel extents of one packed im2col block of the GEMM drivers.
#define CK_GEMM_KC 256
#define CK_GEMM_NC 128

// Packs im2col rows [q0, q0 + depth) × pixels [p0, p0 + columns) of one image and group
// into 32-column panels (the AVX-512 drivers' layout); any border.
void ck_pack32(const ck_conv_plane *plane, const float *input, int q0, int depth, ptrdiff_t p0, int columns,
               float *packed);

// A third per-thread buffer (as `ck_thread_workspace`), for a task's transposed outputs.
float *ck_thread_scratch(size_t floats);

// The filter-vector layout and driver (gemm_filter_vectors.c), for `ck_gemm_filter_vectors` shapes.
size_t ck_fv_packed_floats(ptrdiff_t rows, ptrdiff_t depth);
size_t ck_fv_workspace(void);
void ck_fv_pack_weights(const float *weights, ptrdiff_t rows, ptrdiff_t depth, float *packed);
// Writes a transposed scratch's `cols` pixels × `count` filters (pixel p's filters at
// t + p·ldt) to C rows `pixels` apart, in 16×16 blocks, with the epilogue. Scratch rows
// past `cols` up to a multiple of 16 must be allocated (read into lanes never stored).
void ck_fv_write(const float *t, ptrdiff_t ldt, int cols, int count, float *c, ptrdiff_t pixels,
                 const ck_epilogue *epilogue);
void ck_fv_gemm_block(const ck_conv_plane *plane, const float *input, ptrdiff_t depth, const float *packed_weights,
                      ptrdiff_t filters, const float *bias, float *output, ptrdiff_t pixels, int k0, int k1,
                      ptrdiff_t p0, ptrdiff_t p1, const ck_epilogue *epilogue);

static inline int ck_min(int a, int b) { return a < b ? a : b; }
static inline int ck_max(int a, int b) { return a > b ? a : b; }

// Lanes [*from, *to) of a run of `count` lanes from `lane` whose input columns
// col0 + (l − lane)·sw lie inside [0, width). The divisions run only for a run that crosses
// a border. Used by the im2col packers and the small-dense input copy.
static inline void ck_run_lanes(int col0, int lane, int count, int sw, int width, int *from, int *to) {
    *from = lane;
    *to = lane + count;
    if (col0 < 0) *from = lane + (-col0 + sw - 1) / sw;
    if (col0 + (count - 1) * sw > width - 1) {
        const int last_ok = width - 1 - col0;
        const int bound = last_ok < 0 ? lane - 1 : lane + last_ok / sw;
        if (bound + 1 < *to) *to = bound + 1;
    }
}

// `BorderMode.sourceIndex`: the input index an index outside `[0, extent)` reads, or −1
// for a zero cell. One step suffices within the border constraints.
static inline int ck_border_index(int index, int extent, int border) {
    if (index >= 0 && index < extent) return index;
    switch (border) {
    case CK_BORDER_REFLECT:
        if (extent == 1) return 0;
        return index < 0 ? -index : 2 * (extent - 1) - index;
    case CK_BORDER_REPLICATE:
        return index < 0 ? 0 : extent - 1;
    case CK_BORDER_CIRCULAR:
        return index < 0 ? index + extent : index - extent;
    default:
        return -1;
    }
}

// The scalar epilogue, written as `Activation.apply(Float)` is: Swift's `max(x, y)` is
// `y >= x ? y : x` and `min(x, y)` is `y < x ? y : x`, which fixes the sign of a zero result.
float ck_activate(const ck_epilogue *epilogue, float x);

// Whether the epilogue is one the vector bodies compute in registers.
static inline int ck_epilogue_in_registers(const ck_epilogue *epilogue) {
    return epilogue && epilogue->code >= CK_ACT_RELU && epilogue->code <= CK_ACT_LEAKY_RELU;
}

// Whether the epilogue needs the C library after the values are stored.
static inline int ck_epilogue_after_store(const ck_epilogue *epilogue) {
    return epilogue && epilogue->code >= CK_ACT_SIGMOID;
}

#if CK_X86
// The piecewise-linear epilogues on 8 lanes, bit-identical to `ck_activate`:
// `_mm256_max_ps(x, lo)` is `x > lo ? x : lo` (= Swift's `max(x, lo)` for non-NaN x),
// `_mm256_min_ps(hi, m)` is `hi < m ? hi : m` (= Swift's `min(m, hi)`); NaN lanes are
// put back explicitly, since the x86 min/max return an operand rather than the NaN.
CK_AVX2 static inline __m256 ck_activate_avx2(const ck_epilogue *epilogue, __m256 x) {
    const __m256 nan = _mm256_cmp_ps(x, x, _CMP_UNORD_Q);
    switch (epilogue->code) {
    case CK_ACT_RELU:
        return _mm256_blendv_ps(_mm256_max_ps(x, _mm256_setzero_ps()), x, nan);
    case CK_ACT_RELU6:
    case CK_ACT_CLAMP: {
        const __m256 low = _mm256_max_ps(x, _mm256_set1_ps(epilogue->lower));
        return _mm256_blendv_ps(_mm256_min_ps(_mm256_set1_ps(epilogue->upper), low), x, nan);
    }
    case CK_ACT_LEAKY_RELU: {
        const __m256 keep = _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_GE_OQ);
        return _mm256_blendv_ps(_mm256_mul_ps(_mm256_set1_ps(epilogue->alpha), x), x, keep);
    }
    default:
        return x;
    }
}

// The same on 16 lanes (masked blends instead of blendv).
CK_AVX512 static inline __m512 ck_activate_avx512(const ck_epilogue *epilogue, __m512 x) {
    const __mmask16 nan = _mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q);
    switch (epilogue->code) {
    case CK_ACT_RELU:
        return _mm512_mask_blend_ps(nan, _mm512_max_ps(x, _mm512_setzero_ps()), x);
    case CK_ACT_RELU6:
    case CK_ACT_CLAMP: {
        const __m512 low = _mm512_max_ps(x, _mm512_set1_ps(epilogue->lower));
        return _mm512_mask_blend_ps(nan, _mm512_min_ps(_mm512_set1_ps(epilogue->upper), low), x);
    }
    case CK_ACT_LEAKY_RELU: {
        const __mmask16 keep = _mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_GE_OQ);
        return _mm512_mask_blend_ps(keep, _mm512_mul_ps(_mm512_set1_ps(epilogue->alpha), x), x);
    }
    default:
        return x;
    }
}

// 16 rows of 16 floats transposed in registers: lane j of out[i] is lane i of r[j].
CK_AVX512 static inline void ck_transpose16(__m512 r[16]) {
    __m512 t[16];
    for (int i = 0; i < 8; i++) {
        t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    // Lane quarter L of r[4i + k] now holds column 4L + k of rows 4i … 4i + 3.
    for (int i = 0; i < 4; i++) {
        const __m512d a = _mm512_castps_pd(t[4 * i]), b = _mm512_castps_pd(t[4 * i + 1]);
        const __m512d c = _mm512_castps_pd(t[4 * i + 2]), d = _mm512_castps_pd(t[4 * i + 3]);
        r[4 * i] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, c));
        r[4 * i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, c));
        r[4 * i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(b, d));
        r[4 * i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(b, d));
    }
    for (int k = 0; k < 4; k++) {
        const __m512 a = _mm512_shuffle_f32x4(r[k], r[4 + k], 0x88), b = _mm512_shuffle_f32x4(r[k], r[4 + k], 0xdd);
        const __m512 c = _mm512_shuffle_f32x4(r[8 + k], r[12 + k], 0x88), d = _mm512_shuffle_f32x4(r[8 + k], r[12 + k], 0xdd);
        t[k] = _mm512_shuffle_f32x4(a, c, 0x88);
        t[k + 8] = _mm512_shuffle_f32x4(a, c, 0xdd);
        t[k + 4] = _mm512_shuffle_f32x4(b, d, 0x88);
        t[k + 12] = _mm512_shuffle_f32x4(b, d, 0xdd);
    }
    for (int i = 0; i < 16; i++) r[i] = t[i];
}
#endif

#endif
