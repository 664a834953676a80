#include "internal.h"
#include <stdlib.h>
#include <string.h>

// Winograd F(2×2, 3×3) for 3×3, stride 1, dilation 1, zero-border convolutions.
//
//   Bᵀ = [1 0 −1 0; 0 1 1 0; 0 −1 1 0; 0 1 0 −1]   G = [1 0 0; ½ ½ ½; ½ −½ ½; 0 0 1]
//   Aᵀ = [1 1 1 0; 0 1 −1 −1]
//   Y = Aᵀ [ Σ_c (G g_c Gᵀ) ⊙ (Bᵀ d_c B) ] A    for every 2×2 output tile.
//
// The element-wise products summed over channels are 16 independent GEMMs
// `M_ξ[Kg × T] = U_ξ[Kg × Cg] · V_ξ[Cg × T]`, run with the same register tile as the
// implicit GEMM. Tiles are processed in blocks of TB (a multiple of NR), so the
// workspace is 16·TB·(Cg + Kg) floats whatever the map size.

#if CK_X86
__attribute__((target("avx512f,avx512dq,avx512vl,avx2,fma")))
static void transform_weights_avx512(const float *weights, int kg, int cg, int k0, int k1, float *u) {
    const ptrdiff_t stride = (ptrdiff_t)kg * cg;
    const __m512i nine = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                            _mm512_set1_epi32(9));
    const __m512 half = _mm512_set1_ps(0.5f);
    for (int k = k0; k < k1; k++) {
        for (int c = 0; c < cg; c += 16) {
            const int live = ck_min(16, cg - c);
            const __mmask16 m = (__mmask16)(live >= 16 ? 0xFFFF : (1u << live) - 1);
            const float *g = weights + ((ptrdiff_t)k * cg + c) * 9;
            __m512 w[9];
            for (int t = 0; t < 9; t++) w[t] = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), m, nine, g + t, 4);
            __m512 h[4][3];
            for (int j = 0; j < 3; j++) {
                const __m512 g0 = w[j], g1 = w[3 + j], g2 = w[6 + j];
                h[0][j] = g0;
                h[1][j] = _mm512_mul_ps(half, _mm512_add_ps(_mm512_add_ps(g0, g1), g2));
                h[2][j] = _mm512_mul_ps(half, _mm512_add_ps(_mm512_sub_ps(g0, g1), g2));
                h[3][j] = g2;
            }
            float *dst = u + (ptrdiff_t)k * cg + c;
            for (int i = 0; i < 4; i++) {
                const __m512 g0 = h[i][0], g1 = h[i][1], g2 = h[i][2];
                _mm512_mask_storeu_ps(dst + (i * 4 + 0) * stride, m, g0);
                _mm512_mask_storeu_ps(dst + (i * 4 + 1) * stride, m,
                                      _mm512_mul_ps(half, _mm512_add_ps(_mm512_add_ps(g0, g1), g2)));
                _mm512_mask_storeu_ps(dst + (i * 4 + 2) * stride, m,
                                      _mm512_mul_ps(half, _mm512_add_ps(_mm512_sub_ps(g0, g1), g2)));
                _mm512_mask_storeu_ps(dst + (i * 4 + 3) * stride, m, g2);
            }
        }
    }
}
#endif

void ck_winograd_transform_weights(const float *weights, int kg, int cg, int k0, int k1, float *u) {
#if CK_X86
    if (ck_has_avx512()) {
        transform_weights_avx512(weights, kg, cg, k0, k1, u);
        return;
    }
#endif
    // u[ξ][k][c]
    const ptrdiff_t stride = (ptrdiff_t)kg * cg;
    for (int k = k0; k < k1; k++) {
        for (int c = 0; c < cg; c++) {
            const float *g = weights + ((ptrdiff_t)k * cg + c) * 9;
            float h[4][3];
            for (int j = 0; j < 3; j++) {
                const float g0 = g[0 * 3 + j], g1 = g[1 * 3 + j], g2 = g[2 * 3 + j];
                h[0][j] = g0;
                h[1][j] = 0.5f * (g0 + g1 + g2);
                h[2][j] = 0.5f * (g0 - g1 + g2);
                h[3][j] = g2;
            }
            for (int i = 0; i < 4; i++) {
                const float g0 = h[i][0], g1 = h[i][1], g2 = h[i][2];
                const float v[4] = {g0, 0.5f * (g0 + g1 + g2), 0.5f * (g0 - g1 + g2), g2};
                for (int j = 0; j < 4; j++) u[(i * 4 + j) * stride + (ptrdiff_t)k * cg + c] = v[j];
            }
        }
    }
}

size_t ck_winograd_workspace(int cg, int kg) {
    int mr, nr;
    ck_gemm_shape(&mr, &nr);
    const int tb = 2 * nr;
    return (size_t)16 * ((size_t)tb * cg + 16) + (size_t)16 * ((size_t)tb * kg + 16);
}

// Input transform of one channel for `live` tiles starting at tile index t0, into lanes of
// v[ξ][c·nr + lane] panels (panel = lane / nr).
static inline void input_tiles(const float *x, int height, int width, int tiles_w, int pad_top, int pad_left,
                               ptrdiff_t t0, int live, int nr, int cg, int c, float *v, ptrdiff_t xi_stride) {
    for (int lane = 0; lane < live; lane++) {
        const ptrdiff_t t = t0 + lane;
        const int ti = (int)(t / tiles_w), tj = (int)(t % tiles_w);
        const int r0 = 2 * ti - pad_top, c0 = 2 * tj - pad_left;
        float d[4][4];
        if (r0 >= 0 && c0 >= 0 && r0 + 4 <= height && c0 + 4 <= width) {
            const float *src = x + (ptrdiff_t)r0 * width + c0;
            for (int i = 0; i < 4; i++)
                for (int j = 0; j < 4; j++) d[i][j] = src[(ptrdiff_t)i * width + j];
        } else {
            for (int i = 0; i < 4; i++) {
                const int ih = r0 + i;
                for (int j = 0; j < 4; j++) {
                    const int iw = c0 + j;
                    d[i][j] = (ih >= 0 && ih < height && iw >= 0 && iw < width) ? x[(ptrdiff_t)ih * width + iw] : 0.0f;
                }
            }
        }
        float tmp[4][4];
        for (int j = 0; j < 4; j++) {
            tmp[0][j] = d[0][j] - d[2][j];
            tmp[1][j] = d[1][j] + d[2][j];
            tmp[2][j] = d[2][j] - d[1][j];
            tmp[3][j] = d[1][j] - d[3][j];
        }
        const ptrdiff_t at = (ptrdiff_t)(lane / nr) * cg * nr + (ptrdiff_t)c * nr + lane % nr;
        for (int i = 0; i < 4; i++) {
            v[(i * 4 + 0) * xi_stride + at] = tmp[i][0] - tmp[i][2];
            v[(i * 4 + 1) * xi_stride + at] = tmp[i][1] + tmp[i][2];
            v[(i * 4 + 2) * xi_stride + at] = tmp[i][2] - tmp[i][1];
            v[(i * 4 + 3) * xi_stride + at] = tmp[i][1] - tmp[i][3];
        }
    }
}

#if CK_X86
// Bits [lo, hi) of a 32-bit window mask.
static inline unsigned window_bits(int lo, int hi) {
    if (lo < 0) lo = 0;
    if (hi > 32) hi = 32;
    if (hi <= lo) return 0;
    return (unsigned)(((hi >= 32 ? 0x100000000ull : (1ull << hi)) - 1) & ~((1ull << lo) - 1));
}

// A run: up to 16 consecutive tiles of one tile row, not crossing a 16-lane boundary.
static inline int next_run(ptrdiff_t t, ptrdiff_t end, int tiles_w, int lane) {
    const int tj = (int)(t % tiles_w);
    int count = tiles_w - tj;
    if (count > end - t) count = (int)(end - t);
    if (count > 16 - lane % 16) count = 16 - lane % 16;
    return count;
}

CK_AVX512 static void input_tiles_avx512(const float *input, ptrdiff_t in_plane, int cg, int height, int width,
                                         int tiles_w, int pad_top, int pad_left, ptrdiff_t b0, int live, int nr,
                                         float *v, ptrdiff_t xi_stride) {
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i odd = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
    for (int lane = 0; lane < live;) {
        const ptrdiff_t t = b0 + lane;
        const int count = next_run(t, b0 + live, tiles_w, lane);
        const int ti = (int)(t / tiles_w), tj = (int)(t % tiles_w);
        const int r0 = 2 * ti - pad_top, c0 = 2 * tj - pad_left;
        const unsigned wa = window_bits(-c0, width - c0), wb = window_bits(-c0 - 2, width - c0 - 2);
        const __mmask16 store = (__mmask16)((1u << count) - 1);
        const ptrdiff_t at = (ptrdiff_t)(lane / nr) * cg * nr + lane % nr;
        for (int c = 0; c < cg; c++) {
            const float *x = input + c * in_plane;
            __m512 d[4][4];
            for (int i = 0; i < 4; i++) {
                const int ih = r0 + i;
                if (ih < 0 || ih >= height) {
                    d[i][0] = d[i][1] = d[i][2] = d[i][3] = _mm512_setzero_ps();
                    continue;
                }
                const float *line = x + (ptrdiff_t)ih * width + c0;
                const __m512 a0 = _mm512_maskz_loadu_ps((__mmask16)wa, line);
                const __m512 a1 = _mm512_maskz_loadu_ps((__mmask16)(wa >> 16), line + 16);
                const __m512 e0 = _mm512_maskz_loadu_ps((__mmask16)wb, line + 2);
                const __m512 e1 = _mm512_maskz_loadu_ps((__mmask16)(wb >> 16), line + 18);
                d[i][0] = _mm512_permutex2var_ps(a0, even, a1);
                d[i][1] = _mm512_permutex2var_ps(a0, odd, a1);
                d[i][2] = _mm512_permutex2var_ps(e0, even, e1);
                d[i][3] = _mm512_permutex2var_ps(e0, odd, e1);
            }
            __m512 tmp[4][4];
            for (int j = 0; j < 4; j++) {
                tmp[0][j] = _mm512_sub_ps(d[0][j], d[2][j]);
                tmp[1][j] = _mm512_add_ps(d[1][j], d[2][j]);
                tmp[2][j] = _mm512_sub_ps(d[2][j], d[1][j]);
                tmp[3][j] = _mm512_sub_ps(d[1][j], d[3][j]);
            }
            float *dst = v + at + (ptrdiff_t)c * nr;
            for (int i = 0; i < 4; i++) {
                _mm512_mask_storeu_ps(dst + (i * 4 + 0) * xi_stride, store, _mm512_sub_ps(tmp[i][0], tmp[i][2]));
                _mm512_mask_storeu_ps(dst + (i * 4 + 1) * xi_stride, store, _mm512_add_ps(tmp[i][1], tmp[i][2]));
                _mm512_mask_storeu_ps(dst + (i * 4 + 2) * xi_stride, store, _mm512_sub_ps(tmp[i][2], tmp[i][1]));
                _mm512_mask_storeu_ps(dst + (i * 4 + 3) * xi_stride, store, _mm512_sub_ps(tmp[i][1], tmp[i][3]));
            }
        }
        lane += count;
    }
}

CK_AVX512 static void output_tiles_avx512(const float *m, ptrdiff_t m_stride, int tb, int k0, int k1, const float *bias,
                                          float *output, ptrdiff_t out_plane, int oh, int ow, int tiles_w,
                                          ptrdiff_t b0, int live, const ck_epilogue *epilogue) {
    const __m512i ilo = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
    const __m512i ihi = _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
    const int in_registers = ck_epilogue_in_registers(epilogue);
    const int after_store = ck_epilogue_after_store(epilogue);
    for (int lane = 0; lane < live;) {
        const ptrdiff_t t = b0 + lane;
        const int count = next_run(t, b0 + live, tiles_w, lane);
        const int ti = (int)(t / tiles_w), tj = (int)(t % tiles_w);
        const int i0 = 2 * ti, j0 = 2 * tj;
        const unsigned cols = window_bits(0, ck_min(2 * count, ow - j0));
        const int rows = ck_min(2, oh - i0);
        for (int k = k0; k < k1; k++) {
            const float *mk = m + (ptrdiff_t)k * tb + lane;
            __m512 q[16];
            for (int xi = 0; xi < 16; xi++) q[xi] = _mm512_loadu_ps(mk + xi * m_stride);
            __m512 s0[4], s1[4];
            for (int j = 0; j < 4; j++) {
                s0[j] = _mm512_add_ps(_mm512_add_ps(q[j], q[4 + j]), q[8 + j]);
                s1[j] = _mm512_sub_ps(_mm512_sub_ps(q[4 + j], q[8 + j]), q[12 + j]);
            }
            const __m512 add = _mm512_set1_ps(bias ? bias[k] : 0.0f);
            float *out = output + k * out_plane + (ptrdiff_t)i0 * ow + j0;
            for (int i = 0; i < rows; i++) {
                const __m512 *sr = i == 0 ? s0 : s1;
                __m512 y0 = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(sr[0], sr[1]), sr[2]), add);
                __m512 y1 = _mm512_add_ps(_mm512_sub_ps(_mm512_sub_ps(sr[1], sr[2]), sr[3]), add);
                if (in_registers) {
                    y0 = ck_activate_avx512(epilogue, y0);
                    y1 = ck_activate_avx512(epilogue, y1);
                }
                float *row = out + (ptrdiff_t)i * ow;
                _mm512_mask_storeu_ps(row, (__mmask16)cols, _mm512_permutex2var_ps(y0, ilo, y1));
                _mm512_mask_storeu_ps(row + 16, (__mmask16)(cols >> 16), _mm512_permutex2var_ps(y0, ihi, y1));
                if (after_store) ck_apply_epilogue(epilogue, row, ck_min(2 * count, ow - j0));
            }
        }
        lane += count;
    }
}
#endif

void ck_winograd_block(const ck_conv_plane *plane, const float *input, int cg, const float *u, int kg, int k0, int k1,
                       const float *bias, float *output, ptrdiff_t t0, ptrdiff_t t1, const ck_epilogue *epilogue) {
    if (epilogue && epilogue->code == CK_ACT_IDENTITY) epilogue = NULL;
    int mr, nr;
    ck_tile_fn tile = ck_select_tile(&mr, &nr);
    const int tb = 2 * nr;
    float *work = ck_thread_workspace(ck_winograd_workspace(cg, kg));
    if (!work) abort();
    float *v = work;                                   // [16][panels][cg][nr], panels·nr = tb
    // The 16 ξ slices are a power-of-two apart for power-of-two channel counts; 16 more
    // floats (one cache line) per slice keep their lines out of one L1 set.
    const ptrdiff_t v_stride = (ptrdiff_t)tb * cg + 16, m_stride = (ptrdiff_t)kg * tb + 16;
    float *m = work + 16 * v_stride;                   // [16][kg][tb]
    const int height = plane->input_height, width = plane->input_width;
    const int oh = plane->output_height, ow = plane->output_width;
    const int tiles_w = (ow + 1) / 2;
    const ptrdiff_t in_plane = (ptrdiff_t)height * width, out_plane = (ptrdiff_t)oh * ow;
    const ptrdiff_t u_stride = (ptrdiff_t)kg * cg;
    for (ptrdiff_t b0 = t0; b0 < t1; b0 += tb) {
        const int live = (int)(t1 - b0 < tb ? t1 - b0 : tb);
        // The tile reads whole panels: the lanes past `live` of the last, partial panel
        // must hold zeros (not stale or uninitialised floats, which may be denormal and
        // slow the FMAs). Later panels are never read. (Clearing all 16 slices cost 7% of a
        // 7×7 layer.)
        if (live % nr != 0) {
            const int tail = live % nr;
            float *panel = v + (ptrdiff_t)(live / nr) * cg * nr + tail;
            for (int xi = 0; xi < 16; xi++) {
                for (int c = 0; c < cg; c++) memset(panel + xi * v_stride + (ptrdiff_t)c * nr, 0, sizeof(float) * (size_t)(nr - tail));
            }
        }
#if CK_X86
        const int wide = nr == 32;
        if (wide) {
            input_tiles_avx512(input, in_plane, cg, height, width, tiles_w, plane->pad_top, plane->pad_left, b0, live,
                               nr, v, v_stride);
        }
#else
        const int wide = 0;
#endif
        for (int c = 0; c < cg && !wide; c++) {
            input_tiles(input + c * in_plane, height, width, tiles_w, plane->pad_top, plane->pad_left, b0, live, nr, cg, c,
                        v, v_stride);
        }
        for (int xi = 0; xi < 16; xi++) {
            for (int j = 0; j < live; j += nr) {
                const float *panel = v + xi * v_stride + (ptrdiff_t)(j / nr) * cg * nr;
                for (int k = k0; k < k1; k += mr) {
                    tile(cg, u + xi * u_stride + (ptrdiff_t)k * cg, cg, panel, m + xi * m_stride + (ptrdiff_t)k * tb + j, tb,
                         ck_min(mr, k1 - k), ck_min(nr, live - j), NULL, 0, NULL);
                }
            }
        }
        // Output transform, bias and epilogue.
#if CK_X86
        if (wide) {
            output_tiles_avx512(m, m_stride, tb, k0, k1, bias, output, out_plane, oh, ow, tiles_w, b0, live, epilogue);
            continue;
        }
#endif
        for (int k = k0; k < k1; k++) {
            const float add = bias ? bias[k] : 0.0f;
            float *out = output + k * out_plane;
            const float *mk = m + (ptrdiff_t)k * tb;
            for (int lane = 0; lane < live; lane++) {
                float q[16];
                for (int xi = 0; xi < 16; xi++) q[xi] = mk[xi * m_stride + lane];
                float s[2][4];
                for (int j = 0; j < 4; j++) {
                    s[0][j] = q[0 * 4 + j] + q[1 * 4 + j] + q[2 * 4 + j];
                    s[1][j] = q[1 * 4 + j] - q[2 * 4 + j] - q[3 * 4 + j];
                }
                const ptrdiff_t t = b0 + lane;
                const int i0 = 2 * (int)(t / tiles_w), j0 = 2 * (int)(t % tiles_w);
                for (int i = 0; i < 2 && i0 + i < oh; i++) {
                    const float y0 = s[i][0] + s[i][1] + s[i][2] + add;
                    const float y1 = s[i][1] - s[i][2] - s[i][3] + add;
                    float *row = out + (ptrdiff_t)(i0 + i) * ow + j0;
                    row[0] = ck_activate(epilogue, y0);
                    if (j0 + 1 < ow) row[1] = ck_activate(epilogue, y1);
                }
            }
        }
    }
}
