/// A pair of values, one per spatial axis: height first, then width.
///
/// Used for strides, dilations, kernel sizes and spatial extents. Naming the axes keeps
/// swapped-axis mistakes visible at the call site.
public struct Size2D: Hashable, Sendable, CustomStringConvertible {
    /// The value along the height (row) axis.
    public var height: Int
    /// The value along the width (column) axis.
    public var width: Int

    /// Creates a pair from its two axes.
    ///
    /// - Parameters:
    ///   - height: The value along the height axis.
    ///   - width: The value along the width axis.
    public init(height: Int, width: Int) {
        self.height = height
        self.width = width
    }

    /// Creates a pair with the same value on both axes.
    ///
    /// - Parameter both: The value for height and width.
    public init(_ both: Int) {
        self.init(height: both, width: both)
    }

    /// `(height: H, width: W)`, the form used in error messages.
    public var description: String { "(height: \(height), width: \(width))" }
}
