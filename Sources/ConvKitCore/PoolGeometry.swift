/// Everything a backend needs to know about one validated pooling.
///
/// Produced only by ``Pool2DDescriptor/resolve(input:)``.
public struct PoolGeometry: Hashable, Sendable {
    /// The input shape `N×C×H×W`.
    public let input: TensorShape
    /// The output shape `N×C×OH×OW`.
    public let output: TensorShape
    /// Max or average.
    public let mode: PoolingMode
    /// How the height axis resolved.
    public let rows: AxisGeometry
    /// How the width axis resolved.
    public let columns: AxisGeometry
    /// The average divisor rule.
    public let countIncludePad: Bool

    /// The window size.
    public var window: Size2D { Size2D(height: rows.kernel, width: columns.kernel) }
    /// The stride per axis.
    public var stride: Size2D { Size2D(height: rows.stride, width: columns.stride) }
    /// The dilation per axis.
    public var dilation: Size2D { Size2D(height: rows.dilation, width: columns.dilation) }
    /// The padding amounts.
    public var padding: PaddingAmounts {
        PaddingAmounts(top: rows.padBegin, bottom: rows.padEnd, left: columns.padBegin, right: columns.padEnd)
    }

    /// The number of window taps on `axis` for output index `index` that fall inside the
    /// input (`real`) and inside the padded input (`padded`).
    public static func taps(_ axis: AxisGeometry, _ index: Int) -> (real: Int, padded: Int) {
        var real = 0, padded = 0
        let start = index * axis.stride - axis.padBegin
        for tap in 0..<axis.kernel {
            let position = start + tap * axis.dilation
            if position >= -axis.padBegin, position < axis.input + axis.padEnd { padded += 1 }
            if position >= 0, position < axis.input { real += 1 }
        }
        return (real, padded)
    }
}

extension Pool2DDescriptor {
    /// Validates the descriptor against an input shape and computes the geometry.
    ///
    /// Checks in order: input shape, window, stride, dilation, padding amounts, window fit.
    ///
    /// - Parameter input: The input shape `N×C×H×W`.
    /// - Returns: The validated geometry.
    /// - Throws: ``ConvolutionError`` naming the first rule that failed.
    public func resolve(input: TensorShape) throws -> PoolGeometry {
        _ = try input.checkedElementCount(name: "input")
        let window = self.window ?? input.spatial
        guard window.height >= 1, window.width >= 1 else {
            throw ConvolutionError.invalidValue(parameter: "pooling window", expected: "height ≥ 1 and width ≥ 1",
                                                actual: "\(window)")
        }
        let stride = self.stride ?? window
        guard stride.height >= 1, stride.width >= 1 else { throw ConvolutionError.invalidStride(stride) }
        guard dilation.height >= 1, dilation.width >= 1 else { throw ConvolutionError.invalidDilation(dilation) }
        guard let (rows, columns) = try AxisGeometry.resolve(input: input.spatial, kernel: window, stride: stride,
                                                              dilation: dilation, padding: padding, ceilMode: ceilMode) else {
            let pads = padding.explicitAmounts
            throw ConvolutionError.invalidValue(
                parameter: "pooling window",
                expected: "effective window ≤ padded input (height: \(input.height &+ pads.top &+ pads.bottom), "
                    + "width: \(input.width &+ pads.left &+ pads.right)) on both axes",
                actual: "effective window (height: \(dilation.height &* (window.height - 1) &+ 1), "
                    + "width: \(dilation.width &* (window.width - 1) &+ 1))")
        }
        let output = TensorShape(input.batch, input.channels, rows.output, columns.output)
        return PoolGeometry(input: input, output: output, mode: mode, rows: rows, columns: columns,
                            countIncludePad: countIncludePad)
    }
}
