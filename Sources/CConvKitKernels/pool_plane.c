#include "internal.h"
#include <math.h>

// The taps of one output index on one axis: [first, end) land inside the input, and
// `padded` counts those inside the padded input (`PoolGeometry.taps`), so the ceil-mode
// overhang past the end padding never counts.
typedef struct axis_taps {
    int first, end, padded;
} axis_taps;

static axis_taps taps_of(int index, int stride, int pad_begin, int pad_end, int kernel, int dilation, int extent) {
    const int start = index * stride - pad_begin;
    int first = start >= 0 ? 0 : (-start + dilation - 1) / dilation;
    const int room = extent - 1 - start;
    int end = room < 0 ? 0 : ck_min(kernel, room / dilation + 1);
    first = ck_min(first, end);
    // Every tap starts at or after −pad_begin, so only the end bound can cut.
    const int padded_room = extent + pad_end - 1 - start;
    const int padded = padded_room < 0 ? 0 : ck_min(kernel, padded_room / dilation + 1);
    return (axis_taps){first, end, padded};
}

static inline axis_taps row_taps(const ck_pool_plane *p, int i) {
    return taps_of(i, p->stride_height, p->pad_top, p->pad_bottom, p->kernel_height, p->dilation_height,
                   p->input_height);
}

static inline axis_taps column_taps(const ck_pool_plane *p, int j) {
    return taps_of(j, p->stride_width, p->pad_left, p->pad_right, p->kernel_width, p->dilation_width,
                   p->input_width);
}

static inline int divisor(const ck_pool_plane *p, axis_taps rows, axis_taps columns) {
    return p->count_include_pad ? rows.padded * columns.padded
                                : (rows.end - rows.first) * (columns.end - columns.first);
}

// One output value, taps in the reference's row-major order. Max keeps the reference's
// tie rule (`value >= max ? value : max`, so equal zeros resolve as it does).
static float point(const ck_pool_plane *p, const float *input, int i, int j, axis_taps rows) {
    const axis_taps columns = column_taps(p, j);
    const int top = i * p->stride_height - p->pad_top, left = j * p->stride_width - p->pad_left;
    if (p->mode == CK_POOL_MAX) {
        float maximum = -INFINITY;
        int saw_nan = 0;
        for (int r = rows.first; r < rows.end; r++) {
            const float *line = input + (ptrdiff_t)(top + r * p->dilation_height) * p->input_width + left;
            for (int s = columns.first; s < columns.end; s++) {
                const float value = line[s * p->dilation_width];
                saw_nan |= value != value;
                maximum = value >= maximum ? value : maximum;
            }
        }
        return saw_nan ? NAN : maximum;
    }
    float sum = 0.0f;
    for (int r = rows.first; r < rows.end; r++) {
        const float *line = input + (ptrdiff_t)(top + r * p->dilation_height) * p->input_width + left;
        for (int s = columns.first; s < columns.end; s++) sum += line[s * p->dilation_width];
    }
    const int count = divisor(p, rows, columns);
    // One correctly rounded division (not a reciprocal multiply): with an exact sum this
    // equals the float64 quotient rounded once to float32.
    return count == 0 ? 0.0f : sum / (float)count;
}

// Output columns [lo, hi) whose every tap lies inside the input and whose 8-lane block
// reads stay inside the row (`extra` columns past the last tap, for stride 2's paired loads).
static void interior_columns(const ck_pool_plane *p, int extra, int *lo, int *hi) {
    const int sw = p->stride_width;
    const int first = (p->pad_left + sw - 1) / sw;
    const int numerator = p->input_width - 1 - extra - (p->kernel_width - 1) * p->dilation_width + p->pad_left;
    const int last = numerator < 0 ? -1 : numerator / sw;
    *lo = ck_min(first, p->output_width);
    *hi = ck_max(ck_min(last + 1, p->output_width), *lo);
}

static void rows_portable(const ck_pool_plane *p, const float *input, float *output, int first_row, int end_row) {
    for (int i = first_row; i < end_row; i++) {
        const axis_taps rows = row_taps(p, i);
        float *out = output + (ptrdiff_t)i * p->output_width;
        for (int j = 0; j < p->output_width; j++) out[j] = point(p, input, i, j, rows);
    }
}

#if CK_X86
// Eight consecutive output columns' inputs for one tap: contiguous for stride 1, the even
// elements of 16 for stride 2 (the interior guarantees all 16 are inside the row).
CK_AVX2 static inline __m256 load_taps(const float *at, int stride) {
    if (stride == 1) return _mm256_loadu_ps(at);
    const __m256 low = _mm256_loadu_ps(at), high = _mm256_loadu_ps(at + 8);
    const __m256 even = _mm256_shuffle_ps(low, high, _MM_SHUFFLE(2, 0, 2, 0));
    return _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(even), _MM_SHUFFLE(3, 1, 2, 0)));
}

// Vectorised along output width for stride 1 or 2 (any dilation); edges and remainders
// take the scalar `point`. `_mm256_max_ps(max, v)` is `max > v ? max : v`, the reference's
// tie rule; it drops a NaN in `max`, so NaN lanes are tracked apart and restored at the end.
CK_AVX2 static void rows_avx2(const ck_pool_plane *p, const float *input, float *output, int first_row, int end_row) {
    const int sw = p->stride_width, dw = p->dilation_width, kw = p->kernel_width;
    int lo, hi;
    interior_columns(p, sw == 2 ? 1 : 0, &lo, &hi);
    const __m256 nan_value = _mm256_set1_ps(NAN);
    for (int i = first_row; i < end_row; i++) {
        const axis_taps rows = row_taps(p, i);
        const int top = i * p->stride_height - p->pad_top;
        float *out = output + (ptrdiff_t)i * p->output_width;
        int j = 0;
        for (; j < lo; j++) out[j] = point(p, input, i, j, rows);
        // Interior columns: all kw taps real and inside the padded input.
        const int count = p->count_include_pad ? rows.padded * kw : (rows.end - rows.first) * kw;
        const __m256 divide_by = _mm256_set1_ps((float)count);
        for (; j + 8 <= hi; j += 8) {
            const float *base = input + j * sw - p->pad_left;
            __m256 result;
            if (p->mode == CK_POOL_MAX) {
                __m256 maximum = _mm256_set1_ps(-INFINITY), nan = _mm256_setzero_ps();
                for (int r = rows.first; r < rows.end; r++) {
                    const float *line = base + (ptrdiff_t)(top + r * p->dilation_height) * p->input_width;
                    for (int s = 0; s < kw; s++) {
                        const __m256 value = load_taps(line + s * dw, sw);
                        nan = _mm256_or_ps(nan, _mm256_cmp_ps(value, value, _CMP_UNORD_Q));
                        maximum = _mm256_max_ps(maximum, value);
                    }
                }
                result = _mm256_blendv_ps(maximum, nan_value, nan);
            } else {
                __m256 sum = _mm256_setzero_ps();
                for (int r = rows.first; r < rows.end; r++) {
                    const float *line = base + (ptrdiff_t)(top + r * p->dilation_height) * p->input_width;
                    for (int s = 0; s < kw; s++) sum = _mm256_add_ps(sum, load_taps(line + s * dw, sw));
                }
                result = count == 0 ? _mm256_setzero_ps() : _mm256_div_ps(sum, divide_by);
            }
            _mm256_storeu_ps(out + j, result);
        }
        for (; j < p->output_width; j++) out[j] = point(p, input, i, j, rows);
    }
}

CK_AVX2 static float global_avx2(const float *input, ptrdiff_t count, int mode) {
    ptrdiff_t k = 0;
    if (mode == CK_POOL_MAX) {
        __m256 maximum = _mm256_set1_ps(-INFINITY), nan = _mm256_setzero_ps();
        for (; k + 8 <= count; k += 8) {
            const __m256 value = _mm256_loadu_ps(input + k);
            nan = _mm256_or_ps(nan, _mm256_cmp_ps(value, value, _CMP_UNORD_Q));
            maximum = _mm256_max_ps(maximum, value);
        }
        float lanes[8];
        _mm256_storeu_ps(lanes, maximum);
        float result = -INFINITY;
        int saw_nan = _mm256_movemask_ps(nan) != 0;
        for (int lane = 0; lane < 8; lane++) result = lanes[lane] >= result ? lanes[lane] : result;
        for (; k < count; k++) {
            saw_nan |= input[k] != input[k];
            result = input[k] >= result ? input[k] : result;
        }
        return saw_nan ? NAN : result;
    }
    // Four 8-lane partial sums: shorter dependency chains and smaller rounding error
    // than one running sum.
    __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
    for (; k + 32 <= count; k += 32) {
        s0 = _mm256_add_ps(s0, _mm256_loadu_ps(input + k));
        s1 = _mm256_add_ps(s1, _mm256_loadu_ps(input + k + 8));
        s2 = _mm256_add_ps(s2, _mm256_loadu_ps(input + k + 16));
        s3 = _mm256_add_ps(s3, _mm256_loadu_ps(input + k + 24));
    }
    float lanes[8];
    _mm256_storeu_ps(lanes, _mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
    float sum = 0.0f;
    for (int lane = 0; lane < 8; lane++) sum += lanes[lane];
    for (; k < count; k++) sum += input[k];
    return sum / (float)count;
}
#endif

static float global_portable(const float *input, ptrdiff_t count, int mode) {
    if (mode == CK_POOL_MAX) {
        float maximum = -INFINITY;
        int saw_nan = 0;
        for (ptrdiff_t k = 0; k < count; k++) {
            saw_nan |= input[k] != input[k];
            maximum = input[k] >= maximum ? input[k] : maximum;
        }
        return saw_nan ? NAN : maximum;
    }
    float sum = 0.0f;
    for (ptrdiff_t k = 0; k < count; k++) sum += input[k];
    return sum / (float)count;
}

void ck_pool_rows(const ck_pool_plane *plane, const float *input, float *output, int first_row, int end_row) {
#if CK_X86
    if (ck_has_avx2_fma() && (plane->stride_width == 1 || plane->stride_width == 2)) {
        rows_avx2(plane, input, output, first_row, end_row);
        return;
    }
#endif
    rows_portable(plane, input, output, first_row, end_row);
}

float ck_pool_global(const float *input, ptrdiff_t count, int mode) {
#if CK_X86
    if (ck_has_avx2_fma()) return global_avx2(input, count, mode);
#endif
    return global_portable(input, count, mode);
}
