import CConvKitKernels
import ConvKitCore
import Foundation

/// ConvKit's multithreaded CPU convolution: packed implicit GEMM with an AVX-512 8×32
/// micro-kernel (AVX2/FMA 6×16 or portable where AVX-512 is missing, chosen at run time)
/// for dense layers, Winograd F(2×2, 3×3) for large 3×3 stride-1 layers, and a
/// vectorised direct kernel for depthwise and tiny problems (see ``plannedAlgorithm(for:)``).
///
/// The backend is a plain value: it holds no mutable state, so one instance may be
/// shared by any number of threads calling ``execute(_:input:weights:bias:output:)`` at
/// once. Workspace is per thread and reused across calls (a thread-local buffer that
/// grows to the largest bounded block it has needed: a few hundred KB for GEMM,
/// `16·K·Cg` floats for Winograd's transformed
/// weights), so after warm-up a call allocates nothing and takes no lock; none is used on
/// the direct path. Output is split into disjoint blocks for Dispatch's shared pool.
/// Problems below ``inlineFLOPThreshold`` run entirely on the calling thread.
///
/// Results: `direct` and `gemm` are exact-order, so with small-integer data the output
/// equals ``ReferenceBackend`` bit for bit; otherwise each element lies within
/// ``Agreement/directTau(for:)`` of it. `winograd` lies within ``winogradTau(for:)``;
/// create the backend with `allowInexact: false` to keep `.auto` exact.
///
/// Epilogue: `y = act(sum + bias)` is applied as the last reduction block is stored, so
/// the output is written once. The piecewise-linear activations give exactly what
/// ``Activation/apply(_:)-(Float)`` gives on the unfused output, NaN included. `sigmoid`
/// and `tanh` call the C library's `expf`/`tanhf` on the values just stored; on glibc
/// these are the functions Swift's `Foundation.exp`/`tanh` call for `Float`, so the
/// results are bit-equal there too, and elsewhere within the library's error (≤ 2 ulp
/// for glibc-class libms; the tests allow 4).
///
/// Borders other than zeros read the mapped input cell (``BorderMode/sourceIndex(_:extent:)``)
/// wherever a tap falls outside the input; no padded copy is made.
public struct CPUBackend: ConvolutionBackend {
    /// `"cpu"`.
    public let name = "cpu"
    /// The host processor: its model name from `/proc/cpuinfo` where available, and
    /// the number of active cores.
    public let device: ComputeDevice
    /// The most threads one call uses, ≥ 1.
    public let threads: Int
    /// The algorithm requested at creation; ``CPUAlgorithm/auto`` defers to
    /// ``plannedAlgorithm(for:)``.
    public let algorithm: CPUAlgorithm
    /// Whether ``CPUAlgorithm/auto`` may pick an inexact algorithm (``CPUAlgorithm/winograd``).
    /// With `false`, every auto choice is exact-order, so small-integer data equals
    /// ``ReferenceBackend`` bit for bit.
    public let allowInexact: Bool

    /// Problems with fewer FLOPs than this run on the calling thread: waking the pool
    /// costs more than it saves below roughly half a MFLOP (~5 µs of work on one core).
    public static let inlineFLOPThreshold = 1 << 19

    /// Dense problems with fewer FLOPs than this take the direct path under
    /// ``CPUAlgorithm/auto``: it needs no packing and no workspace, which dominates for
    /// toy sizes such as a 5×5 input with a 3×3 filter.
    public static let directFLOPThreshold = 1 << 16

    /// Creates a CPU backend.
    ///
    /// - Parameters:
    ///   - threads: The most threads a call may use; `nil` means every active core. Values
    ///     below 1 are clamped to 1 (a thread count is a hint, not worth a trap or a throw).
    ///   - algorithm: The loops to run; ``CPUAlgorithm/auto`` picks per problem.
    ///   - allowInexact: Whether `.auto` may choose ``CPUAlgorithm/winograd``; `false`
    ///     keeps every auto choice exact-order. A forced `.winograd` ignores it.
    public init(threads: Int? = nil, algorithm: CPUAlgorithm = .auto, allowInexact: Bool = true) {
        self.threads = max(1, threads ?? ProcessInfo.processInfo.activeProcessorCount)
        self.algorithm = algorithm
        self.allowInexact = allowInexact
        self.device = HostCPU.device
    }

    /// The concrete algorithm ``execute(_:input:weights:bias:output:)`` runs for
    /// `geometry`; never ``CPUAlgorithm/auto``.
    ///
    /// A forced ``CPUAlgorithm/direct`` or ``CPUAlgorithm/gemm`` is returned as is. Under
    /// ``CPUAlgorithm/auto``, in this order:
    /// 1. one input channel per group (depthwise, with or without a channel multiplier)
    ///    → `direct`: a GEMM would run 1-row tiles;
    /// 2. with `allowInexact`, a 5×5 geometry that Winograd F(2×2, 5×5) can run (small maps,
    ///    see ``winogradEligible(_:)``) → `winograd`: 36 products per 2×2 outputs instead of
    ///    100 multiply-adds, faster than every exact kernel on each such shape measured
    ///    (fastest calls, µs, best exact → winograd: LeNet's 6 → 16 over 14×14 6.2 → 2.7,
    ///    4 → 8 over 6×6 1.4 → 0.9, 16 → 64 over 12×12 48.5 → 36.4);
    /// 3. fewer than ``directFLOPThreshold`` FLOPs → `direct`: packing costs more than it saves;
    /// 4. fewer than ``inlineFLOPThreshold`` FLOPs on a small dense map that
    ///    ``smallDenseFits(_:)`` accepts → `direct` (its flat kernel): the GEMM's im2col pack
    ///    costs more than the multiplies there (LeNet's 6 → 16 layer, exact-only: 8.3 → 6.3 µs,
    ///    fastest calls);
    /// 5. fewer than 3 output channels per group → `direct`: a 6-row tile would be mostly idle;
    ///    at most 4 input channels per group and 64–160 taps per filter where
    ///    ``filterVectorDirectFits(_:)`` → `direct` (its filter-vector kernel; ResNet-50's
    ///    conv1, 3 × 7 × 7 taps: 1.18 → 1.10 ms on 2 threads, 1.81 → 1.64 on one, fastest):
    ///    the GEMM would pack 147 taps of im2col per 32 pixels for only 64 filters (with 27
    ///    taps, VGG's 3×3 conv1, the GEMM stays faster: 1.21 vs 1.83 ms);
    /// 6. with `allowInexact`, a Winograd-eligible 3×3 geometry (stride 1, no dilation,
    ///    zero border) with at least ``winogradMinimumChannels`` input and output channels
    ///    per group and at least ``winogradMinimumPixels`` output pixels per channel →
    ///    `winograd`: the 2.25× fewer multiplies outweigh its transforms there;
    /// 7. otherwise → `gemm` (1×1 layers, strided or not, are a pure GEMM on it).
    ///
    /// A forced `.winograd` on a geometry Winograd cannot run returns `.gemm`.
    public func plannedAlgorithm(for geometry: ConvolutionGeometry) -> CPUAlgorithm {
        switch algorithm {
        case .direct, .gemm:
            return algorithm
        case .winograd:
            return Self.winogradEligible(geometry) ? .winograd : .gemm
        case .auto:
            if geometry.inputChannelsPerGroup == 1 { return .direct }
            if allowInexact, geometry.kernel.height == 5, Self.winogradEligible(geometry) { return .winograd }
            if geometry.flops < Self.directFLOPThreshold { return .direct }
            if geometry.flops < Self.inlineFLOPThreshold && Self.smallDenseFits(geometry) { return .direct }
            if geometry.outputChannelsPerGroup < 3 { return .direct }
            if geometry.inputChannelsPerGroup <= 4,
               geometry.inputChannelsPerGroup * geometry.kernel.height * geometry.kernel.width >= 64,
               Self.filterVectorDirectFits(geometry) {
                return .direct
            }
            if allowInexact, Self.winogradEligible(geometry),
               geometry.inputChannelsPerGroup >= Self.winogradMinimumChannels,
               geometry.outputChannelsPerGroup >= Self.winogradMinimumChannels,
               geometry.output.height * geometry.output.width >= Self.winogradMinimumPixels {
                return .winograd
            }
            return .gemm
        }
    }

    /// Auto picks Winograd only with at least this many input and output channels per group.
    public static let winogradMinimumChannels = 32
    /// Auto picks Winograd only with at least this many output pixels per channel: from
    /// 10×10 maps on (2 threads, 256 channels, median ms, packed GEMM → Winograd: 10×10
    /// 0.65 → 0.53, 14×14 1.19 → 1.00, 16×16 1.53 → 0.93); at 8×8 and 9×9 they tie, and on
    /// 7×7 maps the GEMM's filter-vector tile wins (512 channels 1.29 vs 1.43).
    public static let winogradMinimumPixels = 10 * 10

    /// Whether ``CPUAlgorithm/winograd`` can run `geometry`: a 3×3 filter, stride 1,
    /// dilation 1 and zero border (any padding, groups, batch, activation); or, on a CPU
    /// with AVX-512, a 5×5 filter with the same constraints on a map of at most 12 output
    /// columns with at most 16 input channels per group (`ck_winograd5_fits`: two tile rows
    /// share a vector, and a pair's transformed input stays on the stack).
    public static func winogradEligible(_ geometry: ConvolutionGeometry) -> Bool {
        if geometry.kernel.height == 5 && geometry.kernel.width == 5 {
            return withUnsafePointer(to: ck_conv_plane(geometry)) {
                ck_winograd5_fits($0, Int32(geometry.inputChannelsPerGroup)) != 0
            }
        }
        return geometry.kernel.height == 3 && geometry.kernel.width == 3 && geometry.stride.height == 1
            && geometry.stride.width == 1 && geometry.dilation.height == 1 && geometry.dilation.width == 1
            && geometry.border == .zeros
    }

    /// The error bound of ``CPUAlgorithm/winograd`` in the units of ``Agreement``:
    /// `|y − ref| ≤ τ · ε · (Σ|x̂·w| + |b|)`, `ε = 2⁻²³`.
    ///
    /// Derivation (F(2×2, 3×3), Cg input channels per group). Each output is
    /// `Aᵀ[Σ_c U_c ⊙ V_c]A + b` with `V = Bᵀ d B` (entries of Bᵀ in {0, ±1}: each element a
    /// sum of 4 inputs, ≤ 3 roundings), `U = G g Gᵀ` (entries of G in {0, ±½, 1}: ≤ 4
    /// roundings, the halvings exact), the product (1), the channel sum (Cg − 1), the
    /// output transform (≤ 4 roundings: 3 in Aᵀ m, 3 in ·A, of which one path of 4) and
    /// the bias (1). Standard forward analysis gives
    /// `|y − ref| ≤ (Cg + 12)·ε · Aᵀ[Σ_c |U_c| ⊙ |V_c|]A` to first order, where `|·|` is
    /// element-wise and the transforms are taken with absolute values. Unlike the direct
    /// sum, this right side also holds cells of the 4×4 tile outside the output's 3×3
    /// window (they cancel in exact arithmetic) and cross products `|d_i|·|g_j|`. When the
    /// input and filter values are of comparable magnitude (the regime of real
    /// activations and of the tests' uniform floats) the absolute Winograd form exceeds
    /// `Σ|x̂·w|` by at most `(8/3)² ≈ 7.1` (per dimension: `|d₀g₀| + |d₂g₀| + (|d₁| + |d₂|)
    /// (|g₀| + |g₁| + |g₂|)` against `3·|d||g|`), so
    /// `τ = 4 · (64/9) · (Cg + 12)`, with a safety factor 4 for the spread of magnitudes.
    /// It is not a worst-case bound for adversarial data (a huge value next to a window
    /// of tiny ones can exceed it, as can an output whose window sums exact zeros while
    /// its tile's other cells do not); use the exact algorithms (`allowInexact: false`)
    /// where that matters.
    ///
    /// F(2×2, 5×5) (points 0, ±1, ±2, ∞) the same way: `V = Bᵀ d B` with entries of Bᵀ up
    /// to 5 (≤ 4 roundings: 2 a pass), `U = G g Gᵀ` computed in float with entries of G
    /// such as ⅙ and ¹⁄₂₄ themselves rounded (≤ 12), the product and channel sum (Cg), the
    /// output transform (≤ 6: 3 a pass) and the bias (1): `(Cg + 23)·ε` times the absolute
    /// form, which for comparable magnitudes exceeds `Σ|x̂·w|` by at most `(173/15)² ≈ 133`
    /// (per dimension `|Aᵀ|(|G|·1 ⊙ |Bᵀ|·1)` is 34⅔ and 57⅔ against 5 taps), so
    /// `τ = 4 · (173/15)² · (Cg + 23)`. Measured on the tests' random floats the worst
    /// ratio stays under 0.2% of it (about 25).
    public static func winogradTau(for geometry: ConvolutionGeometry) -> Double {
        if geometry.kernel.height == 5 { return 4 * (173.0 / 15.0) * (173.0 / 15.0) * Double(geometry.inputChannelsPerGroup + 23) }
        return 4 * (64.0 / 9.0) * Double(geometry.inputChannelsPerGroup + 12)
    }

    /// ``winogradTau(for:)`` when Winograd would run, else the exact-order bound.
    public func errorBound(for geometry: ConvolutionGeometry) -> Double {
        plannedAlgorithm(for: geometry) == .winograd ? Self.winogradTau(for: geometry) : Agreement.directTau(for: geometry)
    }

    /// ``plannedAlgorithm(for:)``'s raw value, for benchmark tables.
    public func algorithmName(for geometry: ConvolutionGeometry) -> String {
        plannedAlgorithm(for: geometry).rawValue
    }

    /// Every valid geometry whose indices fit the kernels' 32-bit spatial arithmetic.
    ///
    /// - Returns: ``BackendSupport/unsupported(reason:)`` naming the extent when a
    ///   padded size, a pixel count or a reduction length passes `2³⁰`.
    ///
    /// Every border mode and activation runs on both algorithms: borders by index mapping
    /// in the im2col packing and the direct kernel, activations fused into the store of
    /// the last reduction block.
    public func support(for geometry: ConvolutionGeometry) -> BackendSupport {
        let limit = 1 << 30
        let extents: [(String, Int)] = [
            ("padded input height", geometry.input.height + geometry.rows.padBegin + geometry.rows.padEnd),
            ("padded input width", geometry.input.width + geometry.columns.padBegin + geometry.columns.padEnd),
            ("output rows × stride", geometry.output.height * geometry.rows.stride),
            ("output columns × stride", geometry.output.width * geometry.columns.stride),
            ("output pixels per channel", geometry.output.height * geometry.output.width),
            ("reduction length", geometry.reductionLength),
        ]
        for (what, value) in extents where value > limit {
            return .unsupported(reason: "\(what) \(value) exceeds the CPU kernels' 32-bit index range (\(limit))")
        }
        return .supported
    }

    /// Computes the convolution into `output` with ``plannedAlgorithm(for:)``.
    ///
    /// Never throws: every geometry that ``support(for:)`` accepts is computed.
    public func execute(_ geometry: ConvolutionGeometry, input: UnsafeBufferPointer<Float>,
                        weights: UnsafeBufferPointer<Float>, bias: UnsafeBufferPointer<Float>?,
                        output: UnsafeMutableBufferPointer<Float>) throws {
        run(geometry, input: input, weights: weights, bias: bias, output: output, packed: nil, transformed: nil)
    }

    /// ``execute(_:input:weights:bias:output:)`` with optional prepacked GEMM weights or
    /// pretransformed Winograd weights.
    func run(_ geometry: ConvolutionGeometry, input: UnsafeBufferPointer<Float>, weights: UnsafeBufferPointer<Float>,
             bias: UnsafeBufferPointer<Float>?, output: UnsafeMutableBufferPointer<Float>, packed: PackedGEMMWeights?,
             transformed: WinogradWeights?) {
        guard let x = input.baseAddress, let w = weights.baseAddress, let y = output.baseAddress else { return }
        let buffers = KernelBuffers(input: x, weights: w, bias: geometry.hasBias ? bias?.baseAddress : nil, output: y)
        let loop = ParallelLoop(threads: geometry.flops < Self.inlineFLOPThreshold ? 1 : threads)
        switch plannedAlgorithm(for: geometry) {
        case .direct, .auto:
            runDirect(geometry, buffers, loop)
        case .gemm:
            runGEMM(geometry, buffers, loop, packed: packed)
        case .winograd:
            runWinograd(geometry, buffers, loop, transformed: transformed)
        }
    }
}

/// The four buffers of one call, shareable with worker threads.
///
/// `@unchecked Sendable` is sound because workers only read `input`, `weights` and
/// `bias`, and write disjoint parts of `output`, all within `execute`'s lifetime.
struct KernelBuffers: @unchecked Sendable {
    let input: UnsafePointer<Float>
    let weights: UnsafePointer<Float>
    let bias: UnsafePointer<Float>?
    let output: UnsafeMutablePointer<Float>
}

extension ck_conv_plane {
    /// The spatial description the C kernels walk; ``CPUBackend/support(for:)`` has
    /// checked every value fits in `Int32`.
    init(_ geometry: ConvolutionGeometry) {
        self.init(input_height: Int32(geometry.input.height), input_width: Int32(geometry.input.width),
                  kernel_height: Int32(geometry.kernel.height), kernel_width: Int32(geometry.kernel.width),
                  stride_height: Int32(geometry.stride.height), stride_width: Int32(geometry.stride.width),
                  dilation_height: Int32(geometry.dilation.height), dilation_width: Int32(geometry.dilation.width),
                  pad_top: Int32(geometry.rows.padBegin), pad_left: Int32(geometry.columns.padBegin),
                  output_height: Int32(geometry.output.height), output_width: Int32(geometry.output.width),
                  border: geometry.border.kernelCode)
    }
}

extension BorderMode {
    /// The `CK_BORDER_*` value the C kernels switch on.
    var kernelCode: Int32 {
        switch self {
        case .zeros: CK_BORDER_ZEROS
        case .reflect: CK_BORDER_REFLECT
        case .replicate: CK_BORDER_REPLICATE
        case .circular: CK_BORDER_CIRCULAR
        }
    }
}

extension ck_epilogue {
    /// The fused activation as the C kernels receive it.
    init(_ activation: Activation) {
        var lower: Float = 0, upper: Float = 0, alpha: Float = 0
        switch activation {
        case .relu6: (lower, upper) = (0, 6)
        case let .clamp(low, high): (lower, upper) = (low, high)
        case let .leakyRelu(slope): alpha = slope
        case .identity, .relu, .sigmoid, .tanh: break
        }
        self.init(code: activation.code, lower: lower, upper: upper, alpha: alpha)
    }
}
