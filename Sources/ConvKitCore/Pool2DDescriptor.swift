/// What a pooling window computes.
public enum PoolingMode: String, Hashable, Sendable, CaseIterable {
    /// The largest value in the window; padding counts as −∞ and a NaN in the window gives NaN.
    case max
    /// The mean of the window; see ``Pool2DDescriptor/countIncludePad`` for the divisor.
    case average
}

/// The parameters of 2-D max or average pooling.
///
/// Output size per axis is the convolution formula, or with ``ceilMode``
/// `ceil((n + pads − e)/s) + 1`, minus one when the last window would start inside the end
/// padding (the PyTorch and ONNX rule). A window that holds no input cell at all (only
/// possible when a pad reaches the effective window) gives −∞ for `max` and 0 for an
/// `average` that excludes padding.
public struct Pool2DDescriptor: Hashable, Sendable {
    /// Max or average.
    public var mode: PoolingMode
    /// The window size per axis; `nil` pools each whole map (global pooling).
    public var window: Size2D?
    /// The step per axis; `nil` means the window size.
    public var stride: Size2D?
    /// The spacing between window taps, per axis.
    public var dilation: Size2D
    /// How the border is padded.
    public var padding: Padding
    /// Whether the last window may run past the end (ceil instead of floor).
    public var ceilMode: Bool
    /// For `average`: divide by the window cells inside the padded input (`true`) or by
    /// the real input cells only (`false`, the default, as ONNX and TensorFlow). The
    /// ceil-mode overhang is never counted.
    public var countIncludePad: Bool

    /// Creates a pooling descriptor.
    ///
    /// - Parameters:
    ///   - mode: Max or average.
    ///   - window: Window size per axis.
    ///   - stride: Step per axis (default: the window).
    ///   - dilation: Tap spacing per axis (default 1).
    ///   - padding: Border padding (default ``Padding/valid``).
    ///   - ceilMode: Ceil instead of floor in the output size (default `false`).
    ///   - countIncludePad: Average divisor rule (default `false`).
    public init(mode: PoolingMode, window: Size2D, stride: Size2D? = nil, dilation: Size2D = Size2D(1),
                padding: Padding = .valid, ceilMode: Bool = false, countIncludePad: Bool = false) {
        self.mode = mode
        self.window = window
        self.stride = stride
        self.dilation = dilation
        self.padding = padding
        self.ceilMode = ceilMode
        self.countIncludePad = countIncludePad
    }

    /// Global pooling: each `H × W` map reduces to `1 × 1`.
    ///
    /// - Parameter mode: `.max` for `globalMax`, `.average` for `globalAverage`.
    public static func global(_ mode: PoolingMode) -> Pool2DDescriptor {
        var descriptor = Pool2DDescriptor(mode: mode, window: Size2D(1))
        descriptor.window = nil
        return descriptor
    }
}
