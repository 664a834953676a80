/// Which family of loops ``CPUBackend`` runs.
///
///     case   | what runs                                        | good at
///     auto   | the backend picks (see plannedAlgorithm(for:))   | —
///     direct | direct loops, vectorised along output width      | depthwise, tiny problems
///     gemm   | packed implicit GEMM, 6×16 register tiles        | dense layers
///
/// Every case computes every valid geometry; forcing one only changes speed.
public enum CPUAlgorithm: String, Sendable, CaseIterable {
    /// Let ``CPUBackend/plannedAlgorithm(for:)`` choose per problem.
    case auto
    /// Direct convolution: one pass per (output plane, input channel) with the taps in
    /// registers; no workspace.
    case direct
    /// Implicit GEMM per group: weights packed into 6-row panels, im2col columns packed
    /// on the fly into bounded 16-column panels, then an AVX2/FMA micro-kernel.
    case gemm
}
