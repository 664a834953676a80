/// The four dimensions of a dense, row-major tensor.
///
/// For activations the dimensions are `N, C, H, W` (batch, channels, height, width).
/// For filters the same four slots hold `K, C/groups, R, S`: output channels, input
/// channels per group, kernel height and kernel width — the `OIHW` layout of PyTorch
/// and ONNX.
public struct TensorShape: Hashable, Sendable, CustomStringConvertible {
    /// `N` for activations, `K` for filters.
    public var batch: Int
    /// `C` for activations, `C/groups` for filters.
    public var channels: Int
    /// `H` for activations, `R` for filters.
    public var height: Int
    /// `W` for activations, `S` for filters.
    public var width: Int

    /// Creates a shape from its four dimensions, outermost first.
    ///
    /// No check happens here; ``checkedElementCount(name:)`` and the geometry resolver
    /// reject dimensions below 1 and sizes that overflow.
    public init(_ batch: Int, _ channels: Int, _ height: Int, _ width: Int) {
        self.batch = batch
        self.channels = channels
        self.height = height
        self.width = width
    }

    /// Creates an activation shape with labelled dimensions.
    public init(batch: Int, channels: Int, height: Int, width: Int) {
        self.init(batch, channels, height, width)
    }

    /// The four dimensions in storage order.
    public var dimensions: [Int] { [batch, channels, height, width] }

    /// The spatial extent `(height, width)`.
    public var spatial: Size2D { Size2D(height: height, width: width) }

    /// `N×C×H×W`, the form the CLI prints.
    public var description: String { "\(batch)×\(channels)×\(height)×\(width)" }

    /// The number of elements, checked.
    ///
    /// - Parameter name: What the shape describes (`"input"`, `"weights"`), used in errors.
    /// - Returns: `N·C·H·W`.
    /// - Throws: ``ConvolutionError/invalidShape(parameter:shape:)`` when a dimension is
    ///   below 1, ``ConvolutionError/sizeOverflow(parameter:)`` when the product or its byte
    ///   size does not fit in `Int`.
    public func checkedElementCount(name: String) throws -> Int {
        guard dimensions.allSatisfy({ $0 >= 1 }) else {
            throw ConvolutionError.invalidShape(parameter: name, shape: self)
        }
        var count = 1
        for dimension in dimensions {
            let (product, overflow) = count.multipliedReportingOverflow(by: dimension)
            guard !overflow else { throw ConvolutionError.sizeOverflow(parameter: "\(name) element count") }
            count = product
        }
        guard !count.multipliedReportingOverflow(by: MemoryLayout<Float>.stride).overflow else {
            throw ConvolutionError.sizeOverflow(parameter: "\(name) byte size")
        }
        return count
    }

    /// The number of elements; only meaningful for a shape that passed validation.
    ///
    /// Wraps to `Int.max` instead of trapping when the product overflows.
    public var elementCount: Int {
        (try? checkedElementCount(name: "shape")) ?? (dimensions.contains { $0 < 1 } ? 0 : Int.max)
    }
}
