/// Everything a backend needs to know about one validated convolution.
///
/// Produced only by ``Conv2DDescriptor/resolve(input:weights:biasCount:)``, the single
/// place where output sizes and padding amounts are computed.
public struct ConvolutionGeometry: Hashable, Sendable {
    /// The input shape `N×C×H×W`.
    public let input: TensorShape
    /// The filter shape `K×(C/groups)×R×S`.
    public let filter: TensorShape
    /// The output shape `N×K×OH×OW`.
    public let output: TensorShape
    /// How the height axis resolved (pads, output rows, the formula).
    public let rows: AxisGeometry
    /// How the width axis resolved (pads, output columns, the formula).
    public let columns: AxisGeometry
    /// The number of channel groups.
    public let groups: Int
    /// Whether a bias of `K` values is added.
    public let hasBias: Bool
    /// What the padding cells hold.
    public let border: BorderMode
    /// The fused epilogue.
    public let activation: Activation

    /// The stride per axis.
    public var stride: Size2D { Size2D(height: rows.stride, width: columns.stride) }
    /// The dilation per axis.
    public var dilation: Size2D { Size2D(height: rows.dilation, width: columns.dilation) }
    /// The padding amounts chosen for each edge.
    public var padding: PaddingAmounts {
        PaddingAmounts(top: rows.padBegin, bottom: rows.padEnd, left: columns.padBegin, right: columns.padEnd)
    }
    /// The input channels each group reads, `C / groups`.
    public var inputChannelsPerGroup: Int { input.channels / groups }
    /// The output channels each group writes, `K / groups`.
    public var outputChannelsPerGroup: Int { filter.batch / groups }
    /// The kernel size `(R, S)`.
    public var kernel: Size2D { filter.spatial }
    /// The extent the dilated kernel covers, `d·(k−1)+1` per axis.
    public var effectiveKernel: Size2D {
        Size2D(height: dilation.height * (kernel.height - 1) + 1, width: dilation.width * (kernel.width - 1) + 1)
    }
    /// Whether every group has exactly one input and one output channel.
    public var isDepthwise: Bool { groups > 1 && inputChannelsPerGroup == 1 && outputChannelsPerGroup == 1 }
    /// The length of one output element's dot product, `(C/groups)·R·S`.
    public var reductionLength: Int { inputChannelsPerGroup * kernel.height * kernel.width }
    /// Multiply-adds counted as two operations: `2·N·K·OH·OW·(C/groups)·R·S`.
    public let flops: Int

    init(input: TensorShape, filter: TensorShape, output: TensorShape, rows: AxisGeometry, columns: AxisGeometry,
         groups: Int, hasBias: Bool, border: BorderMode, activation: Activation, flops: Int) {
        self.input = input
        self.filter = filter
        self.output = output
        self.rows = rows
        self.columns = columns
        self.groups = groups
        self.hasBias = hasBias
        self.border = border
        self.activation = activation
        self.flops = flops
    }
}
