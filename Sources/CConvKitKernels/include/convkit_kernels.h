#ifndef CONVKIT_KERNELS_H
#define CONVKIT_KERNELS_H

// C micro-kernels behind ConvKitCPU. Swift owns blocking, threading and scheduling;
// these functions own the innermost loops, where Swift without AVX2/FMA codegen flags
// (which SwiftPM forbids as unsafeFlags) falls back to scalar code. Each entry point
// picks an AVX2+FMA body at run time when the CPU has it, else a portable body.

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Rows of one register tile of the GEMM micro-kernel (output channels).
#define CK_GEMM_MR 6
/// Columns of one register tile of the GEMM micro-kernel (output pixels).
#define CK_GEMM_NR 16

/// What padding cells hold (`BorderMode`): an outside index reads 0 or a mapped input index.
#define CK_BORDER_ZEROS 0
#define CK_BORDER_REFLECT 1
#define CK_BORDER_REPLICATE 2
#define CK_BORDER_CIRCULAR 3

/// The spatial part of one convolution, for kernels that walk a single channel plane.
///
/// `border` is one of the `CK_BORDER_*` values; the caller has checked its constraint
/// (reflect: pad < extent, circular: pad ≤ extent), so one mapping step always lands
/// inside the input.
typedef struct ck_conv_plane {
    int input_height, input_width;
    int kernel_height, kernel_width;
    int stride_height, stride_width;
    int dilation_height, dilation_width;
    int pad_top, pad_left;
    int output_height, output_width;
    int border;
} ck_conv_plane;

/// Activation codes (`Activation.code`).
#define CK_ACT_IDENTITY 0
#define CK_ACT_RELU 1
#define CK_ACT_RELU6 2
#define CK_ACT_CLAMP 3
#define CK_ACT_LEAKY_RELU 4
#define CK_ACT_SIGMOID 5
#define CK_ACT_TANH 6

/// The fused epilogue `y = act(sum + bias)`, applied when the last reduction block is stored.
///
/// `lower`/`upper` are the clamp bounds (relu6: 0 and 6); `alpha` is leakyRelu's slope.
/// The piecewise-linear cases compute exactly what `Activation.apply(Float)` computes,
/// NaN included; sigmoid and tanh call the C library's `expf` and `tanhf`, as Swift's
/// `Foundation.exp`/`tanh` for `Float` do on glibc.
typedef struct ck_epilogue {
    int code;
    float lower, upper, alpha;
} ck_epilogue;

/// Applies `epilogue` in place to `count` values (NULL or identity: no change).
void ck_apply_epilogue(const ck_epilogue *epilogue, float *values, ptrdiff_t count);

/// 1 when the AVX2+FMA bodies run on this CPU, else 0.
int ck_has_avx2_fma(void);

/// Packs an im2col block of one image and group into NR-column panels; padding cells are
/// zeros or, for the other borders, the mapped input cell.
///
/// Row `q` of the virtual matrix is the tap `(c, r, s) = (q / (R·S), q / S % R, q % S)`;
/// column `p` is the output pixel `(p / OW, p % OW)`. Packs rows `[q0, q0 + depth)` and
/// columns `[p0, p0 + columns)`: panel-major, then depth, then NR columns (zero past the end).
/// `input` points at channel 0 of the group; channels are `H·W` apart.
void ck_pack_im2col(const ck_conv_plane *plane, const float *input, int q0, int depth,
                    ptrdiff_t p0, int columns, float *packed);

/// 1 when the AVX-512 (F, DQ, VL) bodies run on this CPU (and `CONVKIT_NO_AVX512` is unset), else 0.
int ck_has_avx512(void);

/// The register tile the blocked GEMM driver uses on this CPU: 8×32 with AVX-512,
/// else 6×16 (AVX2+FMA or portable).
void ck_gemm_shape(int *mr, int *nr);

/// A buffer of at least `floats` floats (64-byte aligned) owned by the calling thread and
/// reused by its later calls: worker threads keep one workspace for their lifetime, so the
/// hot path never allocates after the first call. NULL when allocation fails.
float *ck_thread_workspace(size_t floats);

/// Floats of per-thread workspace `ck_conv_gemm_block` uses (bounded, shape independent).
size_t ck_conv_gemm_workspace(void);

/// 1 where prepacked GEMM weights of a group of `filters` with `pixels` output pixels per
/// plane use the filter-vector layout and tile (small maps on AVX-512: 16 filters per vector
/// lane set, pixels broadcast), whose tasks must start at multiples of 16 filters.
int ck_gemm_filter_vectors(ptrdiff_t pixels, ptrdiff_t filters, ptrdiff_t depth);

/// Floats `ck_pack_gemm_weights` writes for `rows` filters of `depth` taps (output planes of
/// `pixels`), or 0 when this CPU's tile reads weights in place (packing would not be used).
size_t ck_gemm_packed_weights_floats(ptrdiff_t rows, ptrdiff_t depth, ptrdiff_t pixels);

/// Packs one group's filters (`rows` × `depth`, row-major) for the AVX-512 tiles: blocks of
/// 8 filters, each `depth` taps of 8 weights side by side, rows past `rows` repeating the
/// last; or, where `ck_gemm_filter_vectors(pixels, rows)`, blocks of 64 filters, each tap's
/// weights of the block side by side, zero past `rows`.
void ck_pack_gemm_weights(const float *weights, ptrdiff_t rows, ptrdiff_t depth, ptrdiff_t pixels, float *packed);

/// Blocked implicit GEMM for one image and group: output channels `[k0, k1)` × pixels
/// `[p0, p1)` of `C = W · im2col(input)`. `weights` is the group's first filter (rows
/// `depth` apart, read in place); `packed_weights` (or NULL) the group's `filters` filters
/// packed by `ck_pack_gemm_weights`, read instead where this CPU's tiles can; `output` the
/// group's first output plane (`pixels` per channel); `bias` (or NULL) the group's first
/// bias. Stores `bias + Σ` then `epilogue`.
void ck_conv_gemm_block(const ck_conv_plane *plane, const float *input, const float *weights, ptrdiff_t depth,
                        const float *packed_weights, ptrdiff_t filters,
                        const float *bias, float *output, ptrdiff_t pixels, int k0, int k1, ptrdiff_t p0,
                        ptrdiff_t p1, const ck_epilogue *epilogue);

/// 1 where `ck_single_channel` runs a one-input-channel layer: AVX-512, a zero border,
/// stride 1, at most 64 taps, and a small plane (the widened grid ≤ 8192 floats, ≤ 64
/// output vectors).
int ck_single_channel_fits(const ck_conv_plane *plane);

/// Direct convolution of images `[first, last)` of a layer with one input channel and `kg`
/// filters (one group; `weights` KCRS, `bias` or NULL): `bias + Σ taps`, then `epilogue`.
/// Works on the stack, allocates nothing.
void ck_single_channel(const ck_conv_plane *plane, const float *input, const float *weights, const float *bias,
                       float *output, int kg, ptrdiff_t first, ptrdiff_t last, const ck_epilogue *epilogue);

/// 1 where `ck_fv_direct_rows` runs a group of `cg` input and `kg` output channels: AVX-512,
/// a zero border, at most 160 taps per filter (`cg·R·S`), at least 32 filters and 16
/// output columns, and a bounded band of input rows.
int ck_fv_direct_fits(const ck_conv_plane *plane, int cg, int kg);

/// Floats `ck_fv_direct_pack` writes for one group.
size_t ck_fv_direct_weights_floats(int cg, int kg, const ck_conv_plane *plane);

/// Packs one group's filters (KCRS) for `ck_fv_direct_rows`: blocks of 64 filters, each
/// tap's weights of the block side by side.
void ck_fv_direct_pack(const float *weights, int cg, int kg, const ck_conv_plane *plane, float *packed);

/// Direct convolution of output rows `[i0, i1)` of one image and group: `input` is the
/// group's first input channel, `packed` its filters from `ck_fv_direct_pack`, `output`
/// its first output plane, `bias` (or NULL) its first bias. Stores `Σ + bias`, then `epilogue`.
void ck_fv_direct_rows(const ck_conv_plane *plane, const float *input, const float *packed, int cg, int kg,
                       const float *bias, float *output, int i0, int i1, const ck_epilogue *epilogue);

/// Winograd F(2×2, 3×3) weight transform `U_ξ = G g Gᵀ` of filters `[k0, k1)` of a group of
/// `kg` filters × `cg` channels (3×3 each, `weights` = the group's first filter, KCRS) into
/// `u[ξ][k][c]` (the group's 16·kg·cg floats).
void ck_winograd_transform_weights(const float *weights, int kg, int cg, int k0, int k1, float *u);

/// A second per-thread buffer (like `ck_thread_workspace`) for data one call shares with
/// its workers, such as transformed weights; valid until the thread's next request.
float *ck_thread_shared_buffer(size_t floats);

/// Floats of per-thread workspace `ck_winograd_block` uses: about 16·TB·(cg + kg), TB = 2·NR tiles.
size_t ck_winograd_workspace(int cg, int kg);

/// Winograd F(2×2, 3×3) for output tiles `[t0, t1)` (row-major over ⌈OH/2⌉×⌈OW/2⌉) and
/// filters `[k0, k1)` of one image and group: 3×3, stride 1, dilation 1, zero border only.
/// `input` is the group's first channel, `u` its transformed weights (all `kg` filters),
/// `output` its first output plane. `k0` a multiple of MR (`ck_gemm_shape`) so filter
/// ranges split the register tiles, not cut them.
void ck_winograd_block(const ck_conv_plane *plane, const float *input, int cg, const float *u, int kg, int k0, int k1,
                       const float *bias, float *output, ptrdiff_t t0, ptrdiff_t t1, const ck_epilogue *epilogue);

/// 1 where `ck_winograd5` runs a group of `cg` input channels: AVX-512, 5×5, stride 1,
/// dilation 1, zero border, at most 12 output columns and 16 input channels per group.
int ck_winograd5_fits(const ck_conv_plane *plane, int cg);

/// Floats of one group's `ck_winograd5_transform_weights` output.
size_t ck_winograd5_weights_floats(int cg, int kg);

/// Winograd F(2×2, 5×5) weight transform `U_ξ = G g Gᵀ` of one group's `kg` filters ×
/// `cg` channels (5×5 each, KCRS) into blocks of 16 filters, `u[block][ξ][c][16]`.
void ck_winograd5_transform_weights(const float *weights, int cg, int kg, float *u);

/// Pairs of 2-row output tile rows `ck_winograd5` walks: ⌈⌈OH/2⌉/2⌉.
int ck_winograd5_pairs(const ck_conv_plane *plane);

/// Winograd F(2×2, 5×5) for tile-row pairs `[pair0, pair1)` (output rows `[4·pair0,
/// 4·pair1)`) of one image and group, every filter, on the calling thread with stack
/// workspace only. `input` is the group's first channel, `u` its transformed weights,
/// `output` its first output plane, `bias` (or NULL) its first bias. Only where `ck_winograd5_fits`.
void ck_winograd5(const ck_conv_plane *plane, const float *input, int cg, const float *u, int kg, const float *bias,
                  float *output, int pair0, int pair1, const ck_epilogue *epilogue);

/// Depthwise direct convolution (one input channel per group, `multiplier` outputs per
/// group) of output planes `[first, last)` in `N·K` order, bias and epilogue fused.
/// Returns 0, computing nothing, when no fast body fits (then call `ck_direct_plane`).
int ck_depthwise_planes(const ck_conv_plane *plane, const float *input, const float *weights, const float *bias,
                        float *output, int input_channels, int output_channels, int multiplier, ptrdiff_t first,
                        ptrdiff_t last, const ck_epilogue *epilogue);

/// 1 when `ck_small_dense` runs `plane` with `cg` input channels per group: AVX-512, stride
/// 1 along rows, a zero border (or no border read), and a small plane (at most 1024 outputs,
/// `cg·S·(OH + (R−1)·dh)·OW` ≤ 8192 copied floats).
int ck_small_dense_fits(const ck_conv_plane *plane, int cg);

/// Dense direct convolution of units [first, last) of `N·groups` (image n, group g =
/// unit / groups, unit % groups): input `[N][in_channels][H][W]`, weights
/// `[out_channels][in_channels/groups][R][S]`, bias `[out_channels]` or NULL, output
/// `[N][out_channels][OH][OW]`; bias and epilogue fused, on the calling thread, no
/// allocation. Only where `ck_small_dense_fits`.
void ck_small_dense(const ck_conv_plane *plane, const float *input, const float *weights, const float *bias,
                    float *output, int in_channels, int out_channels, int groups, ptrdiff_t first,
                    ptrdiff_t last, const ck_epilogue *epilogue);

/// Direct convolution of one input plane with one `R×S` filter into one output plane.
///
/// Overwrites `output` with `initial + Σ w·x̂` or, with `accumulate`, adds `Σ w·x̂` to it;
/// a non-NULL `epilogue` (pass it with the last input channel only) is applied before each
/// value is stored.
void ck_direct_plane(const ck_conv_plane *plane, const float *input, const float *weights,
                     float *output, float initial, int accumulate, const ck_epilogue *epilogue);

/// Pooling modes (`PoolingMode`).
#define CK_POOL_MAX 0
#define CK_POOL_AVERAGE 1

/// The spatial part of one pooling, for kernels that walk a single channel plane.
///
/// Max treats padding as −∞ and gives NaN when the window holds a NaN; average divides by
/// the real cells of the window, or with `count_include_pad` by its cells inside the
/// padded input (never the ceil-mode overhang); a window with a zero divisor gives 0.
typedef struct ck_pool_plane {
    int input_height, input_width;
    int kernel_height, kernel_width;
    int stride_height, stride_width;
    int dilation_height, dilation_width;
    int pad_top, pad_bottom, pad_left, pad_right;
    int output_height, output_width;
    int mode;
    int count_include_pad;
} ck_pool_plane;

/// Pools output rows `[first_row, end_row)` of one plane; `input` and `output` point at
/// the plane's first element.
void ck_pool_rows(const ck_pool_plane *plane, const float *input, float *output, int first_row, int end_row);

/// Reduces `count` values to their maximum (NaN if any is NaN, −∞ for none) or their mean.
float ck_pool_global(const float *input, ptrdiff_t count, int mode);

/// Claims the next task index of a ParallelLoop region (relaxed fetch-add on `*next`).
ptrdiff_t ck_work_claim(ptrdiff_t *next);
/// Counts one finished task (release fetch-add on `*finished`).
void ck_work_finish(ptrdiff_t *finished);
/// Spins until `*finished` reaches `target` (acquire), pausing between reads.
void ck_work_wait(const ptrdiff_t *finished, ptrdiff_t target);

/// Sequentially consistent load, store, fetch-add and compare-exchange on one cell, for
/// the hand-off between a region's caller and the workers that stay awake between regions.
ptrdiff_t ck_atomic_load(const ptrdiff_t *cell);
void ck_atomic_store(ptrdiff_t *cell, ptrdiff_t value);
ptrdiff_t ck_atomic_add(ptrdiff_t *cell, ptrdiff_t delta);
/// Stores `desired` if `*cell == expected`; 1 when it did.
int ck_atomic_exchange_if(ptrdiff_t *cell, ptrdiff_t expected, ptrdiff_t desired);
/// Spins until `*cell != seen` (1) or `nanoseconds` have passed (0).
/// Spins until `*cell == 0`.
void ck_spin_until_zero(const ptrdiff_t *cell);
int ck_spin_for_change(const ptrdiff_t *cell, ptrdiff_t seen, int64_t nanoseconds);

#ifdef __cplusplus
}
#endif

#endif
