#ifndef CONVKIT_KERNELS_H
#define CONVKIT_KERNELS_H

// C micro-kernels behind ConvKitCPU. Swift owns blocking, threading and scheduling;
// these functions own the innermost loops, where Swift without AVX2/FMA codegen flags
// (which SwiftPM forbids as unsafeFlags) falls back to scalar code. Each entry point
// picks an AVX2+FMA body at run time when the CPU has it, else a portable body.

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Rows of one register tile of the GEMM micro-kernel (output channels).
#define CK_GEMM_MR 6
/// Columns of one register tile of the GEMM micro-kernel (output pixels).
#define CK_GEMM_NR 16

/// The spatial part of one convolution, for kernels that walk a single channel plane.
typedef struct ck_conv_plane {
    int input_height, input_width;
    int kernel_height, kernel_width;
    int stride_height, stride_width;
    int dilation_height, dilation_width;
    int pad_top, pad_left;
    int output_height, output_width;
} ck_conv_plane;

/// 1 when the AVX2+FMA bodies run on this CPU, else 0.
int ck_has_avx2_fma(void);

/// Packs `rows` rows of `depth` weights (row stride `row_stride`) into MR-row panels:
/// panel-major, then depth, then the MR rows; rows past `rows` are zero.
void ck_pack_weights(const float *weights, ptrdiff_t row_stride, int rows, int depth, float *packed);

/// Packs an im2col block of one image and group into NR-column panels, zeros for padding.
///
/// Row `q` of the virtual matrix is the tap `(c, r, s) = (q / (R·S), q / S % R, q % S)`;
/// column `p` is the output pixel `(p / OW, p % OW)`. Packs rows `[q0, q0 + depth)` and
/// columns `[p0, p0 + columns)`: panel-major, then depth, then NR columns (zero past the end).
/// `input` points at channel 0 of the group; channels are `H·W` apart.
void ck_pack_im2col(const ck_conv_plane *plane, const float *input, int q0, int depth,
                    ptrdiff_t p0, int columns, float *packed);

/// One MR×NR tile: `C = A·B (+ bias[row])` or `C += A·B`.
///
/// `a` is an MR-row panel and `b` an NR-column panel, both `depth` deep. Only the top-left
/// `rows × columns` of the tile are stored, `c` has row stride `ldc`. With `accumulate`
/// the tile is added to `c`; otherwise it overwrites `c`, plus `bias[row]` when `bias`
/// is not NULL.
void ck_gemm_tile(int depth, const float *a, const float *b, float *c, ptrdiff_t ldc,
                  int rows, int columns, const float *bias, int accumulate);

/// Direct convolution of one input plane with one `R×S` filter into one output plane.
///
/// Overwrites `output` with `initial + Σ w·x̂` or, with `accumulate`, adds `Σ w·x̂` to it.
void ck_direct_plane(const ck_conv_plane *plane, const float *input, const float *weights,
                     float *output, float initial, int accumulate);

#ifdef __cplusplus
}
#endif

#endif
