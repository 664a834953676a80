#include "internal.h"
#include <string.h>

void ck_pack_weights(const float *weights, ptrdiff_t row_stride, int rows, int depth, float *packed) {
    for (int first = 0; first < rows; first += CK_GEMM_MR) {
        const int live = ck_min(CK_GEMM_MR, rows - first);
        const float *base = weights + (ptrdiff_t)first * row_stride;
        for (int t = 0; t < depth; t++) {
            for (int i = 0; i < CK_GEMM_MR; i++) {
                // Zero rows make a partial panel safe to run through the full tile.
                *packed++ = i < live ? base[(ptrdiff_t)i * row_stride + t] : 0.0f;
            }
        }
    }
}

// Stores the part of a full MR×NR result that lies inside the matrix.
// The epilogue runs on each value as it is stored, so the output is written once.
static void store_partial(const float tile[CK_GEMM_MR][CK_GEMM_NR], float *c, ptrdiff_t ldc,
                          int rows, int columns, const float *bias, int accumulate, const ck_epilogue *epilogue) {
    for (int i = 0; i < rows; i++) {
        float *row = c + (ptrdiff_t)i * ldc;
        const float add = (!accumulate && bias) ? bias[i] : 0.0f;
        for (int j = 0; j < columns; j++) {
            row[j] = ck_activate(epilogue, accumulate ? row[j] + tile[i][j] : tile[i][j] + add);
        }
    }
}

static void tile_portable(int depth, const float *a, const float *b, float *c, ptrdiff_t ldc,
                          int rows, int columns, const float *bias, int accumulate, const ck_epilogue *epilogue) {
    float acc[CK_GEMM_MR][CK_GEMM_NR];
    memset(acc, 0, sizeof acc);
    for (int p = 0; p < depth; p++) {
        for (int i = 0; i < CK_GEMM_MR; i++) {
            const float av = a[i];
            for (int j = 0; j < CK_GEMM_NR; j++) acc[i][j] += av * b[j];
        }
        a += CK_GEMM_MR;
        b += CK_GEMM_NR;
    }
    store_partial(acc, c, ldc, rows, columns, bias, accumulate, epilogue);
}

#if CK_X86
// 12 accumulators + 2 B vectors + 1 broadcast = 15 of the 16 ymm registers.
#define CK_ROW(i)                                              \
    do {                                                       \
        const __m256 av = _mm256_broadcast_ss(a + (i));        \
        c##i##l = _mm256_fmadd_ps(av, bl, c##i##l);            \
        c##i##h = _mm256_fmadd_ps(av, bh, c##i##h);            \
    } while (0)

#define CK_STORE(i)                                                                      \
    do {                                                                                 \
        float *row = c + (ptrdiff_t)(i) * ldc;                                           \
        if (accumulate) {                                                                \
            c##i##l = _mm256_add_ps(_mm256_loadu_ps(row), c##i##l);                      \
            c##i##h = _mm256_add_ps(_mm256_loadu_ps(row + 8), c##i##h);                  \
        } else if (bias) {                                                               \
            const __m256 bv = _mm256_set1_ps(bias[i]);                                   \
            c##i##l = _mm256_add_ps(c##i##l, bv);                                        \
            c##i##h = _mm256_add_ps(c##i##h, bv);                                        \
        }                                                                                \
        if (in_registers) {                                                              \
            c##i##l = ck_activate_avx2(epilogue, c##i##l);                               \
            c##i##h = ck_activate_avx2(epilogue, c##i##h);                               \
        }                                                                                \
        _mm256_storeu_ps(row, c##i##l);                                                  \
        _mm256_storeu_ps(row + 8, c##i##h);                                              \
    } while (0)

#define CK_SPILL(i)                                 \
    do {                                            \
        _mm256_storeu_ps(tile[i], c##i##l);         \
        _mm256_storeu_ps(tile[i] + 8, c##i##h);     \
    } while (0)

CK_AVX2 static void tile_avx2(int depth, const float *a, const float *b, float *c, ptrdiff_t ldc,
                              int rows, int columns, const float *bias, int accumulate,
                              const ck_epilogue *epilogue) {
    __m256 c0l = _mm256_setzero_ps(), c0h = _mm256_setzero_ps();
    __m256 c1l = _mm256_setzero_ps(), c1h = _mm256_setzero_ps();
    __m256 c2l = _mm256_setzero_ps(), c2h = _mm256_setzero_ps();
    __m256 c3l = _mm256_setzero_ps(), c3h = _mm256_setzero_ps();
    __m256 c4l = _mm256_setzero_ps(), c4h = _mm256_setzero_ps();
    __m256 c5l = _mm256_setzero_ps(), c5h = _mm256_setzero_ps();
    for (int p = 0; p < depth; p++) {
        const __m256 bl = _mm256_loadu_ps(b);
        const __m256 bh = _mm256_loadu_ps(b + 8);
        CK_ROW(0); CK_ROW(1); CK_ROW(2); CK_ROW(3); CK_ROW(4); CK_ROW(5);
        a += CK_GEMM_MR;
        b += CK_GEMM_NR;
    }
    if (rows == CK_GEMM_MR && columns == CK_GEMM_NR) {
        const int in_registers = ck_epilogue_in_registers(epilogue);
        CK_STORE(0); CK_STORE(1); CK_STORE(2); CK_STORE(3); CK_STORE(4); CK_STORE(5);
        // sigmoid/tanh: the C library on the 6×16 values just stored, still in L1.
        if (ck_epilogue_after_store(epilogue)) {
            for (int i = 0; i < CK_GEMM_MR; i++) ck_apply_epilogue(epilogue, c + (ptrdiff_t)i * ldc, CK_GEMM_NR);
        }
    } else {
        float tile[CK_GEMM_MR][CK_GEMM_NR];
        CK_SPILL(0); CK_SPILL(1); CK_SPILL(2); CK_SPILL(3); CK_SPILL(4); CK_SPILL(5);
        store_partial(tile, c, ldc, rows, columns, bias, accumulate, epilogue);
    }
}
#endif

void ck_gemm_tile(int depth, const float *a, const float *b, float *c, ptrdiff_t ldc,
                  int rows, int columns, const float *bias, int accumulate, const ck_epilogue *epilogue) {
    if (epilogue && epilogue->code == CK_ACT_IDENTITY) epilogue = NULL;
#if CK_X86
    if (ck_has_avx2_fma()) {
        tile_avx2(depth, a, b, c, ldc, rows, columns, bias, accumulate, epilogue);
        return;
    }
#endif
    tile_portable(depth, a, b, c, ldc, rows, columns, bias, accumulate, epilogue);
}
