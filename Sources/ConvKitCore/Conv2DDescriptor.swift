/// The parameters of a 2-D convolution, independent of the tensors it runs on.
///
/// Per-axis parameters are ``Size2D`` values, so height and width can differ. Nothing is
/// validated here; ``resolve(input:weights:biasCount:)`` checks every rule of
/// `semantics.md` against concrete shapes.
public struct Conv2DDescriptor: Hashable, Sendable {
    /// The step between neighbouring output positions, per axis; each ≥ 1.
    public var stride: Size2D
    /// The spacing between filter taps, per axis; each ≥ 1 (1 = dense filter).
    public var dilation: Size2D
    /// How the border is padded.
    public var padding: Padding
    /// The number of channel groups; must divide both input and output channels.
    public var groups: Int
    /// What the padding cells hold (default ``BorderMode/zeros``).
    public var border: BorderMode
    /// The function fused after the bias (default ``Activation/identity``).
    public var activation: Activation

    /// Creates a descriptor.
    ///
    /// - Parameters:
    ///   - stride: Output step per axis (default 1).
    ///   - dilation: Filter tap spacing per axis (default 1).
    ///   - padding: Border padding (default ``Padding/valid``).
    ///   - groups: Channel groups (default 1; `C` for depthwise).
    ///   - border: What padding cells hold (default zeros).
    ///   - activation: The fused epilogue after the bias (default identity).
    public init(stride: Size2D = Size2D(1), dilation: Size2D = Size2D(1), padding: Padding = .valid, groups: Int = 1,
                border: BorderMode = .zeros, activation: Activation = .identity) {
        self.stride = stride
        self.dilation = dilation
        self.padding = padding
        self.groups = groups
        self.border = border
        self.activation = activation
    }
}
