#include "internal.h"

// Output columns [lo, hi) whose every tap column lies inside the input; only these
// take the unchecked vector path.
static void interior_columns(const ck_conv_plane *p, int *lo, int *hi) {
    const int first = (p->pad_left + p->stride_width - 1) / p->stride_width;
    const int numerator = p->input_width - 1 - (p->kernel_width - 1) * p->dilation_width + p->pad_left;
    const int last = numerator < 0 ? -1 : numerator / p->stride_width;
    *lo = ck_min(first, p->output_width);
    *hi = ck_max(ck_min(last + 1, p->output_width), *lo);
}

// Kernel rows [first, last) of output row i that land inside the input. Taps in the
// padding are skipped, not multiplied by zero, so an Inf weight next to the border
// gives what the reference gives. Other borders read a mapped row for every tap.
static void live_rows(const ck_conv_plane *p, int i, int *first, int *last) {
    if (p->border != CK_BORDER_ZEROS) {
        *first = 0;
        *last = p->kernel_height;
        return;
    }
    const int top = i * p->stride_height - p->pad_top;
    const int dh = p->dilation_height;
    int r0 = top >= 0 ? 0 : (-top + dh - 1) / dh;
    const int bottom = p->input_height - 1 - top;
    int r1 = bottom < 0 ? 0 : bottom / dh + 1;
    r1 = ck_min(r1, p->kernel_height);
    *first = ck_min(r0, r1);
    *last = r1;
}

// The input row kernel row r of output row i reads (a live row for zeros, mapped otherwise).
static inline int tap_row(const ck_conv_plane *p, int i, int r) {
    const int ih = i * p->stride_height - p->pad_top + r * p->dilation_height;
    return p->border == CK_BORDER_ZEROS ? ih : ck_border_index(ih, p->input_height, p->border);
}

static float point(const ck_conv_plane *p, const float *input, const float *weights, int i, int j,
                   int first, int last, float acc) {
    for (int r = first; r < last; r++) {
        const float *line = input + (ptrdiff_t)tap_row(p, i, r) * p->input_width;
        const float *w = weights + r * p->kernel_width;
        for (int s = 0; s < p->kernel_width; s++) {
            const int iw = ck_border_index(j * p->stride_width - p->pad_left + s * p->dilation_width,
                                           p->input_width, p->border);
            if (iw >= 0) acc += w[s] * line[iw];
        }
    }
    return acc;
}

static void plane_portable(const ck_conv_plane *p, const float *input, const float *weights,
                           float *output, float initial, int accumulate, const ck_epilogue *epilogue) {
    for (int i = 0; i < p->output_height; i++) {
        int first, last;
        live_rows(p, i, &first, &last);
        float *out = output + (ptrdiff_t)i * p->output_width;
        for (int j = 0; j < p->output_width; j++) {
            out[j] = ck_activate(epilogue, point(p, input, weights, i, j, first, last, accumulate ? out[j] : initial));
        }
    }
}

#if CK_X86
CK_AVX2 static void plane_avx2(const ck_conv_plane *p, const float *input, const float *weights,
                               float *output, float initial, int accumulate, const ck_epilogue *epilogue) {
    const int in_registers = ck_epilogue_in_registers(epilogue);
    const int after_store = ck_epilogue_after_store(epilogue);
    int lo, hi;
    interior_columns(p, &lo, &hi);
    const int sw = p->stride_width;
    const __m256i ramp = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    const __m256i lanes = _mm256_mullo_epi32(ramp, _mm256_set1_epi32(sw));
    for (int i = 0; i < p->output_height; i++) {
        int first, last;
        live_rows(p, i, &first, &last);
        float *out = output + (ptrdiff_t)i * p->output_width;
        for (int j = 0; j < lo; j++) {
            out[j] = ck_activate(epilogue, point(p, input, weights, i, j, first, last, accumulate ? out[j] : initial));
        }
        // Four independent 8-wide accumulators: one chain of dependent FMAs would wait
        // on the FMA latency (4 cycles) at every tap. Lanes past the interior are masked
        // rather than overlapped, because accumulating twice into one output is wrong.
        for (int j = lo; j < hi; j += 32) {
            const __m256i m0 = _mm256_cmpgt_epi32(_mm256_set1_epi32(hi - j), ramp);
            const __m256i m1 = _mm256_cmpgt_epi32(_mm256_set1_epi32(hi - j - 8), ramp);
            const __m256i m2 = _mm256_cmpgt_epi32(_mm256_set1_epi32(hi - j - 16), ramp);
            const __m256i m3 = _mm256_cmpgt_epi32(_mm256_set1_epi32(hi - j - 24), ramp);
            const __m256 start = _mm256_set1_ps(initial);
            const int full = hi - j >= 32;
            __m256 a0 = accumulate ? _mm256_maskload_ps(out + j, m0) : start;
            __m256 a1 = accumulate ? _mm256_maskload_ps(out + j + 8, m1) : start;
            __m256 a2 = accumulate ? _mm256_maskload_ps(out + j + 16, m2) : start;
            __m256 a3 = accumulate ? _mm256_maskload_ps(out + j + 24, m3) : start;
            for (int r = first; r < last; r++) {
                const float *line = input + (ptrdiff_t)tap_row(p, i, r) * p->input_width + j * sw - p->pad_left;
                const float *w = weights + r * p->kernel_width;
                // Two loops so the stride test stays out of the tap loop and the four
                // accumulators stay in registers.
                if (sw == 1 && full) {
                    // Masked loads cost several times a plain one; full blocks skip them.
                    for (int s = 0; s < p->kernel_width; s++) {
                        const float *at = line + s * p->dilation_width;
                        const __m256 wv = _mm256_set1_ps(w[s]);
                        a0 = _mm256_fmadd_ps(wv, _mm256_loadu_ps(at), a0);
                        a1 = _mm256_fmadd_ps(wv, _mm256_loadu_ps(at + 8), a1);
                        a2 = _mm256_fmadd_ps(wv, _mm256_loadu_ps(at + 16), a2);
                        a3 = _mm256_fmadd_ps(wv, _mm256_loadu_ps(at + 24), a3);
                    }
                } else if (sw == 1) {
                    for (int s = 0; s < p->kernel_width; s++) {
                        const float *at = line + s * p->dilation_width;
                        const __m256 wv = _mm256_set1_ps(w[s]);
                        a0 = _mm256_fmadd_ps(wv, _mm256_maskload_ps(at, m0), a0);
                        a1 = _mm256_fmadd_ps(wv, _mm256_maskload_ps(at + 8, m1), a1);
                        a2 = _mm256_fmadd_ps(wv, _mm256_maskload_ps(at + 16, m2), a2);
                        a3 = _mm256_fmadd_ps(wv, _mm256_maskload_ps(at + 24, m3), a3);
                    }
                } else {
                    const __m256 zero = _mm256_setzero_ps();
                    for (int s = 0; s < p->kernel_width; s++) {
                        const float *at = line + s * p->dilation_width;
                        const __m256 wv = _mm256_set1_ps(w[s]);
                        a0 = _mm256_fmadd_ps(wv, _mm256_mask_i32gather_ps(zero, at, lanes, _mm256_castsi256_ps(m0), 4), a0);
                        a1 = _mm256_fmadd_ps(wv, _mm256_mask_i32gather_ps(zero, at + 8 * sw, lanes, _mm256_castsi256_ps(m1), 4), a1);
                        a2 = _mm256_fmadd_ps(wv, _mm256_mask_i32gather_ps(zero, at + 16 * sw, lanes, _mm256_castsi256_ps(m2), 4), a2);
                        a3 = _mm256_fmadd_ps(wv, _mm256_mask_i32gather_ps(zero, at + 24 * sw, lanes, _mm256_castsi256_ps(m3), 4), a3);
                    }
                }
            }
            if (in_registers) {
                a0 = ck_activate_avx2(epilogue, a0);
                a1 = ck_activate_avx2(epilogue, a1);
                a2 = ck_activate_avx2(epilogue, a2);
                a3 = ck_activate_avx2(epilogue, a3);
            }
            _mm256_maskstore_ps(out + j, m0, a0);
            _mm256_maskstore_ps(out + j + 8, m1, a1);
            _mm256_maskstore_ps(out + j + 16, m2, a2);
            _mm256_maskstore_ps(out + j + 24, m3, a3);
            // sigmoid/tanh: the C library on the (up to) 32 values just stored.
            if (after_store) ck_apply_epilogue(epilogue, out + j, ck_min(32, hi - j));
        }
        for (int j = hi; j < p->output_width; j++) {
            out[j] = ck_activate(epilogue, point(p, input, weights, i, j, first, last, accumulate ? out[j] : initial));
        }
    }
}
#endif

void ck_direct_plane(const ck_conv_plane *plane, const float *input, const float *weights,
                     float *output, float initial, int accumulate, const ck_epilogue *epilogue) {
    if (epilogue && epilogue->code == CK_ACT_IDENTITY) epilogue = NULL;
#if CK_X86
    if (ck_has_avx2_fma()) {
        plane_avx2(plane, input, weights, output, initial, accumulate, epilogue);
        return;
    }
#endif
    plane_portable(plane, input, weights, output, initial, accumulate, epilogue);
}
