import ConvKitCore

/// The coarse class of a convolution that one tuned configuration serves.
///
/// A handful of classes cover ResNet, VGG and MobileNet: the filter (`1x1`, `3x3`,
/// `other`), the stride (`s1`, `s2` = any stride > 1), whether the layer is depthwise
/// (`dw`), the output pixels of one image (`small` ≤ 256, i.e. 16×16, else `large`) and
/// the input channels per group (`narrow` < 16, e.g. an RGB stem, else `wide`). The name
/// is `kernel.stride.pixels.channels`, or `dw.kernel.stride` for depthwise layers.
public struct ShapeClass: Hashable, Sendable, Codable, CustomStringConvertible, Comparable {
    /// e.g. `3x3.s1.large.wide`.
    public let name: String

    public init(name: String) { self.name = name }

    /// The class of `geometry`.
    public init(_ geometry: ConvolutionGeometry) {
        let kernel = switch geometry.kernel {
        case Size2D(1): "1x1"
        case Size2D(3): "3x3"
        default: "other"
        }
        let stride = geometry.stride == Size2D(1) ? "s1" : "s2"
        if geometry.isDepthwise {
            name = "dw.\(kernel).\(stride)"
            return
        }
        let pixels = geometry.output.height * geometry.output.width <= 256 ? "small" : "large"
        let channels = geometry.inputChannelsPerGroup < 16 ? "narrow" : "wide"
        name = "\(kernel).\(stride).\(pixels).\(channels)"
    }

    public var description: String { name }
    public static func < (a: ShapeClass, b: ShapeClass) -> Bool { a.name < b.name }
}
