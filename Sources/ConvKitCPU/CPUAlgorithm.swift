/// Which family of loops ``CPUBackend`` runs.
///
///     case     | what runs                                         | good at
///     auto     | the backend picks (see plannedAlgorithm(for:))    | —
///     direct   | direct loops (no im2col), vectorised along width   | depthwise, tiny, conv1-like
///     gemm     | packed implicit GEMM, 8×32 (AVX-512) / 6×16 tiles | dense layers, 1×1, strided
///     winograd | Winograd F(2×2, 3×3) + 16 GEMMs                  | 3×3 stride 1, large maps
///              | Winograd F(2×2, 5×5), filters in lanes           | 5×5 stride 1, small maps
///
/// Every case computes every valid geometry; forcing one only changes speed, except that
/// `winograd` is inexact (see ``CPUBackend/winogradTau(for:)``) and runs only on 3×3,
/// stride-1, undilated, zero-border geometries and the small 5×5 ones of
/// ``CPUBackend/winogradEligible(_:)``: forced on any other it runs `gemm`.
public enum CPUAlgorithm: String, Sendable, CaseIterable {
    /// Let ``CPUBackend/plannedAlgorithm(for:)`` choose per problem.
    case auto
    /// Direct convolution: one pass per (output plane, input channel) with the taps in
    /// registers; no workspace. Small dense maps (``CPUBackend/smallDenseFits(_:)``)
    /// instead walk each output plane flat, 16 outputs a vector and up to 8 filters a tile,
    /// over a stack copy of the input; layers of few channels with at most 160 taps per
    /// filter (``CPUBackend/filterVectorDirectFits(_:)``, ResNet-50's conv1) run 64 filters
    /// in vector lanes × 6 output pixels over a zero-bordered copy of a band of input rows;
    /// small one-channel layers (``CPUBackend/singleChannelFits(_:)``, LeNet's first) walk
    /// each output row over a zero-bordered grid 16 floats wide a vector, unmasked.
    case direct
    /// Implicit GEMM per group: weights read in place (no repacking), im2col columns
    /// packed on the fly into bounded 32-column (AVX-512) or 16-column panels, then an
    /// 8×32 AVX-512 or 6×16 AVX2/FMA micro-kernel. 1×1 layers (strided too) are a pure
    /// GEMM on it: their "im2col" is a (strided) copy of input rows.
    case gemm
    /// Winograd F(2×2, 3×3): input tiles transformed by `Bᵀ d B`, weights by `G g Gᵀ`, 16
    /// channel-reduction GEMMs with the `gemm` register tile, output by `Aᵀ m A`. 5×5
    /// filters on small maps run F(2×2, 5×5) instead: 36 points a tile, 16 filters in the
    /// vector lanes, two tile rows per vector in the input transform, all on the stack. Not
    /// exact-order: small-integer data is *not* reproduced bit for bit (the weight
    /// transform halves); results lie within ``CPUBackend/winogradTau(for:)``.
    case winograd
}
