#include "internal.h"

// Winograd F(2×2, 5×5) for 5×5, stride 1, dilation 1, zero-border layers on small maps
// (LeNet's second layer: 6 → 16 channels over 14×14).
//
//   Bᵀ = [4 0 −5 0 1 0; 0 −4 −4 1 1 0; 0 4 −4 −1 1 0; 0 −2 −1 2 1 0; 0 2 −1 −2 1 0; 0 4 0 −5 0 1]
//   G  = [¼ 0 0 0 0; −⅙ −⅙ −⅙ −⅙ −⅙; −⅙ ⅙ −⅙ ⅙ −⅙; ¹⁄₂₄ ¹⁄₁₂ ⅙ ⅓ ⅔; ¹⁄₂₄ −¹⁄₁₂ ⅙ −⅓ ⅔; 0 0 0 0 1]
//   Aᵀ = [1 1 1 1 1 0; 0 1 −1 2 −2 1]      (points 0, ±1, ±2, ∞: Bᵀ is F(4×4, 3×3)'s)
//
// A 2×2 output tile costs 36 products per channel and filter instead of 100 multiply-adds:
// LeNet's layer is 480 kFLOP directly, which in 3 µs is 160 GFLOP/s, above one core's FMA
// peak; its products here are 173 kFLOP.
//
// Filters sit in vector lanes, 16 a block, as the output transform and `ck_fv_write` want.
// The input transform puts two tile rows in one vector (lanes 0–7 the upper row's tiles,
// 8–15 the lower's): with at most 12 output columns a row has at most 6 tiles, and a tile
// reads two lanes past its own, so both passes of `Bᵀ d B` run on whole vectors with no
// transpose — the rows' even and odd columns are split once, then a tile's six columns are
// the even and odd vectors shifted by 0, 1 and 2 lanes.

enum { W5_POINTS = 36, W5_MAX_CG = 16, W5_MAX_TILES = 6, W5_ROWS_PER_PAIR = 4, W5_GROUP = 4 };

int ck_winograd5_fits(const ck_conv_plane *p, int cg) {
#if CK_X86
    return ck_has_avx512() && p->kernel_height == 5 && p->kernel_width == 5 && p->stride_height == 1
        && p->stride_width == 1 && p->dilation_height == 1 && p->dilation_width == 1
        && p->border == CK_BORDER_ZEROS && p->output_width <= 2 * W5_MAX_TILES && cg >= 1 && cg <= W5_MAX_CG;
#else
    (void)p, (void)cg;
    return 0;
#endif
}

size_t ck_winograd5_weights_floats(int cg, int kg) { return (size_t)((kg + 15) / 16) * W5_POINTS * (size_t)cg * 16; }

int ck_winograd5_pairs(const ck_conv_plane *p) { return ((p->output_height + 1) / 2 + 1) / 2; }

#if CK_X86
// h = G x for five vectors: G's rows share x₀ + x₂ + x₄ and x₁ + x₃ (rows 1, 2) and
// ¹⁄₂₄x₀ + ⅙x₂ + ⅔x₄ and ¹⁄₁₂x₁ + ⅓x₃ (rows 3, 4).
CK_AVX512 static inline __attribute__((always_inline)) void w5_g(const __m512 x[5], __m512 h[6]) {
    const __m512 even = _mm512_add_ps(_mm512_add_ps(x[0], x[2]), x[4]), odd = _mm512_add_ps(x[1], x[3]);
    const __m512 sixth = _mm512_set1_ps(-1.0f / 6);
    const __m512 p = _mm512_fmadd_ps(_mm512_set1_ps(1.0f / 24), x[0],
                                     _mm512_fmadd_ps(_mm512_set1_ps(1.0f / 6), x[2],
                                                     _mm512_mul_ps(_mm512_set1_ps(2.0f / 3), x[4])));
    const __m512 q = _mm512_fmadd_ps(_mm512_set1_ps(1.0f / 12), x[1], _mm512_mul_ps(_mm512_set1_ps(1.0f / 3), x[3]));
    h[0] = _mm512_mul_ps(_mm512_set1_ps(0.25f), x[0]);
    h[1] = _mm512_mul_ps(sixth, _mm512_add_ps(even, odd));
    h[2] = _mm512_mul_ps(sixth, _mm512_sub_ps(even, odd));
    h[3] = _mm512_add_ps(p, q);
    h[4] = _mm512_sub_ps(p, q);
    h[5] = x[4];
}

// u[block][c][ξ][16 filters]; lanes past the last filter hold zeros. Each channel's 16 × 25
// taps are transposed in registers (two 16×16 transposes) so that a vector holds one tap of
// 16 filters.
CK_AVX512 static void w5_transform(const float *weights, int cg, int kg, float *u) {
    for (int k0 = 0; k0 < kg; k0 += 16) {
        const int live = ck_min(16, kg - k0);
        float *block = u + (ptrdiff_t)(k0 / 16) * W5_POINTS * cg * 16;
        for (int c = 0; c < cg; c++) {
            __m512 lo[16], hi[16];
            for (int k = 0; k < 16; k++) {
                const float *g = weights + ((ptrdiff_t)(k0 + ck_min(k, live - 1)) * cg + c) * 25;
                lo[k] = k < live ? _mm512_loadu_ps(g) : _mm512_setzero_ps();
                hi[k] = k < live ? _mm512_maskz_loadu_ps(0x1FF, g + 16) : _mm512_setzero_ps();
            }
            ck_transpose16(lo);
            ck_transpose16(hi);
            // w[r·5 + s]: tap (r, s) of the 16 filters.
            const __m512 w[25] = {lo[0], lo[1], lo[2], lo[3], lo[4], lo[5], lo[6], lo[7], lo[8], lo[9], lo[10],
                                  lo[11], lo[12], lo[13], lo[14], lo[15], hi[0], hi[1], hi[2], hi[3], hi[4],
                                  hi[5], hi[6], hi[7], hi[8]};
            __m512 h[6][5];
            for (int s = 0; s < 5; s++) {
                const __m512 column[5] = {w[s], w[5 + s], w[10 + s], w[15 + s], w[20 + s]};
                __m512 out[6];
                w5_g(column, out);
                for (int i = 0; i < 6; i++) h[i][s] = out[i];
            }
            for (int i = 0; i < 6; i++) {
                __m512 out[6];
                w5_g(h[i], out);
                for (int j = 0; j < 6; j++) _mm512_storeu_ps(block + ((ptrdiff_t)c * W5_POINTS + i * 6 + j) * 16, out[j]);
            }
        }
    }
}

// v = Bᵀ d for six vectors, in 12 operations: v₁,₂ = (d₄ − 4d₂) ± (d₃ − 4d₁), v₃,₄ = (d₄ − d₂)
// ± 2(d₃ − d₁).
CK_AVX512 static inline __attribute__((always_inline)) void w5_bt(const __m512 d[6], __m512 v[6]) {
    const __m512 two = _mm512_set1_ps(2), four = _mm512_set1_ps(4), five = _mm512_set1_ps(5);
    v[0] = _mm512_fmadd_ps(four, d[0], _mm512_fnmadd_ps(five, d[2], d[4]));
    const __m512 t42 = _mm512_fnmadd_ps(four, d[2], d[4]), t31 = _mm512_fnmadd_ps(four, d[1], d[3]);
    v[1] = _mm512_add_ps(t42, t31);
    v[2] = _mm512_sub_ps(t42, t31);
    const __m512 s42 = _mm512_sub_ps(d[4], d[2]), s31 = _mm512_sub_ps(d[3], d[1]);
    v[3] = _mm512_fmadd_ps(two, s31, s42);
    v[4] = _mm512_fnmadd_ps(two, s31, s42);
    v[5] = _mm512_fmadd_ps(four, d[1], _mm512_fnmadd_ps(five, d[3], d[5]));
}

CK_AVX512 static inline __m512 w5_shift(__m512 x, int lanes) {
    const __m512i bits = _mm512_castps_si512(x);
    return _mm512_castsi512_ps(lanes == 1 ? _mm512_alignr_epi32(bits, bits, 1) : _mm512_alignr_epi32(bits, bits, 2));
}

// V = Bᵀ d B of the tiles of tile rows 2·pair and 2·pair + 1, every channel: v[c][ξ][16],
// lane t the upper row's tile t, lane 8 + t the lower's.
CK_AVX512 static void w5_input(const ck_conv_plane *p, const float *input, int cg, int pair, float *v) {
    const int h = p->input_height, w = p->input_width, pl = p->pad_left, y0 = 4 * pair - p->pad_top;
    // Lane l holds input column l − pl: one load covers the 16 columns 6 tiles read.
    unsigned bits = 0;
    for (int l = 0; l < 16; l++) bits |= (unsigned)(l - pl >= 0 && l - pl < w) << l;
    const __mmask16 columns = (__mmask16)bits;
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i odd = _mm512_add_epi32(even, _mm512_set1_epi32(1));
    for (int c = 0; c < cg; c++) {
        const float *plane = input + (ptrdiff_t)c * h * w;
        __m512 rows[8];
        for (int a = 0; a < 8; a++) {
            const int y = y0 + a;
            rows[a] = y >= 0 && y < h ? _mm512_maskz_loadu_ps(columns, plane + (ptrdiff_t)y * w - pl)
                                      : _mm512_setzero_ps();
        }
        __m512 de[6], dodd[6], re[6], ro[6];
        for (int a = 0; a < 6; a++) {
            de[a] = _mm512_permutex2var_ps(rows[a], even, rows[a + 2]);
            dodd[a] = _mm512_permutex2var_ps(rows[a], odd, rows[a + 2]);
        }
        w5_bt(de, re);
        w5_bt(dodd, ro);
        for (int i = 0; i < 6; i++) {
            const __m512 d[6] = {re[i], ro[i], w5_shift(re[i], 1), w5_shift(ro[i], 1), w5_shift(re[i], 2),
                                 w5_shift(ro[i], 2)};
            __m512 out[6];
            w5_bt(d, out);
            for (int j = 0; j < 6; j++) _mm512_store_ps(v + ((ptrdiff_t)c * W5_POINTS + i * 6 + j) * 16, out[j]);
        }
    }
}

// The two outputs Aᵀ m of six points.
CK_AVX512 static inline __attribute__((always_inline)) void w5_at(const __m512 m[6], __m512 *y0, __m512 *y1) {
    *y0 = _mm512_add_ps(_mm512_add_ps(m[0], _mm512_add_ps(m[1], m[2])), _mm512_add_ps(m[3], m[4]));
    *y1 = _mm512_add_ps(_mm512_fmadd_ps(_mm512_set1_ps(2), _mm512_sub_ps(m[3], m[4]), _mm512_sub_ps(m[1], m[2])), m[5]);
}

// For T tiles from lane0 + t0 and each point column j: the six points ξ = 6i + j summed over
// channels (Σ_c U[ξ][c] · V[ξ][c][tile], 6T chains in registers), then Aᵀ over i, so only
// r[j][tile][2] (a third of the products) goes to memory.
CK_AVX512 static inline __attribute__((always_inline)) void w5_products(const int T, const float *u, const float *v,
                                                                        int cg, int lane, int t0, float *r) {
    for (int j = 0; j < 6; j++) {
        __m512 acc[6][5];
#pragma clang loop unroll(full)
        for (int i = 0; i < 6; i++)
#pragma clang loop unroll(full)
            for (int t = 0; t < T; t++) acc[i][t] = _mm512_setzero_ps();
        for (int c = 0; c < cg; c++) {
#pragma clang loop unroll(full)
            for (int i = 0; i < 6; i++) {
                const ptrdiff_t at = ((ptrdiff_t)c * W5_POINTS + 6 * i + j) * 16;
                const __m512 w = _mm512_loadu_ps(u + at);
#pragma clang loop unroll(full)
                for (int t = 0; t < T; t++) acc[i][t] = _mm512_fmadd_ps(w, _mm512_set1_ps(v[at + lane + t]), acc[i][t]);
            }
        }
#pragma clang loop unroll(full)
        for (int t = 0; t < T; t++) {
            const __m512 m[6] = {acc[0][t], acc[1][t], acc[2][t], acc[3][t], acc[4][t], acc[5][t]};
            __m512 y0, y1;
            w5_at(m, &y0, &y1);
            _mm512_store_ps(r + (ptrdiff_t)((j * W5_MAX_TILES + t0 + t) * 2) * 16, y0);
            _mm512_store_ps(r + (ptrdiff_t)((j * W5_MAX_TILES + t0 + t) * 2 + 1) * 16, y1);
        }
    }
}

// Y = (Aᵀ m) A + bias of tile t, into the scratch s[pixel][16] (pixel = row · OW + column
// from the scratch's first row); outputs past the map's edge are dropped.
CK_AVX512 static void w5_output(const ck_conv_plane *p, const float *r, int t, int row, int row0, __m512 bias,
                                float *s) {
    __m512 r0[6], r1[6];
    for (int j = 0; j < 6; j++) {
        r0[j] = _mm512_load_ps(r + (ptrdiff_t)((j * W5_MAX_TILES + t) * 2) * 16);
        r1[j] = _mm512_load_ps(r + (ptrdiff_t)((j * W5_MAX_TILES + t) * 2 + 1) * 16);
    }
    __m512 y[2][2];
    w5_at(r0, &y[0][0], &y[0][1]);
    w5_at(r1, &y[1][0], &y[1][1]);
    const int ow = p->output_width, oh = p->output_height;
    for (int a = 0; a < 2; a++) {
        if (row + a >= oh) break;
        for (int b = 0; b < 2; b++) {
            if (2 * t + b >= ow) break;
            _mm512_store_ps(s + (ptrdiff_t)((row + a - row0) * ow + 2 * t + b) * 16, _mm512_add_ps(y[a][b], bias));
        }
    }
}

#define W5_T(T) case T: w5_products(T, ub, v, cg, lane0, 0, r); break;

CK_AVX512 static void w5_run(const ck_conv_plane *p, const float *input, int cg, const float *u, int kg,
                             const float *bias, float *output, int pair0, int pair1, const ck_epilogue *epilogue) {
    const int ow = p->output_width, oh = p->output_height, tiles = (ow + 1) / 2, tile_rows = (oh + 1) / 2;
    const ptrdiff_t plane = (ptrdiff_t)oh * ow;
    float v[W5_POINTS * W5_MAX_CG * 16] __attribute__((aligned(64)));
    float r[6 * W5_MAX_TILES * 2 * 16] __attribute__((aligned(64)));
    // One block of filters: the outputs of up to W5_GROUP pairs are written together (LeNet's
    // 100 pixels in 7 transposes of 16, not 9). More blocks: each pair's at once, so its
    // transformed input serves every block.
    float s[W5_GROUP * W5_ROWS_PER_PAIR * 2 * W5_MAX_TILES * 16] __attribute__((aligned(64)));
    const int group = kg <= 16 ? W5_GROUP : 1;
    for (int g0 = pair0; g0 < pair1; g0 += group) {
        const int g1 = ck_min(pair1, g0 + group), row0 = 4 * g0;
        for (int pair = g0; pair < g1; pair++) {
            w5_input(p, input, cg, pair, v);
            for (int k0 = 0; k0 < kg; k0 += 16) {
                const int live = ck_min(16, kg - k0);
                const __mmask16 mask = (__mmask16)(live >= 16 ? 0xFFFF : (1u << live) - 1);
                const __m512 b = bias ? _mm512_maskz_loadu_ps(mask, bias + k0) : _mm512_setzero_ps();
                const float *ub = u + (ptrdiff_t)(k0 / 16) * W5_POINTS * cg * 16;
                for (int half = 0; half < 2 && 2 * pair + half < tile_rows; half++) {
                    const int lane0 = 8 * half;
                    switch (tiles) {
                        W5_T(1) W5_T(2) W5_T(3) W5_T(4) W5_T(5)
                    case 6:
                        w5_products(3, ub, v, cg, lane0, 0, r);
                        w5_products(3, ub, v, cg, lane0 + 3, 3, r);
                        break;
                    }
                    for (int t = 0; t < tiles; t++) w5_output(p, r, t, 4 * pair + 2 * half, row0, b, s);
                }
                if (group == 1) {
                    const int rows = ck_min(W5_ROWS_PER_PAIR, oh - row0);
                    ck_fv_write(s, 16, rows * ow, live, output + (ptrdiff_t)k0 * plane + (ptrdiff_t)row0 * ow, plane,
                                epilogue);
                }
            }
        }
        if (group > 1) {
            const int rows = ck_min(oh, 4 * g1) - row0;
            ck_fv_write(s, 16, rows * ow, kg, output + (ptrdiff_t)row0 * ow, plane, epilogue);
        }
    }
}
#undef W5_T
#endif

void ck_winograd5_transform_weights(const float *weights, int cg, int kg, float *u) {
#if CK_X86
    if (ck_has_avx512()) w5_transform(weights, cg, kg, u);
#else
    (void)weights, (void)cg, (void)kg, (void)u;
#endif
}

void ck_winograd5(const ck_conv_plane *plane, const float *input, int cg, const float *u, int kg, const float *bias,
                  float *output, int pair0, int pair1, const ck_epilogue *epilogue) {
#if CK_X86
    if (epilogue && epilogue->code == CK_ACT_IDENTITY) epilogue = NULL;
    w5_run(plane, input, cg, u, kg, bias, output, pair0, pair1, epilogue);
#else
    (void)plane, (void)input, (void)cg, (void)u, (void)kg, (void)bias, (void)output, (void)pair0, (void)pair1;
    (void)epilogue;
#endif
}
