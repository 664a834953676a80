/// A dense float32 tensor in row-major `NCHW` order, with value semantics.
///
/// Copies share storage until one of them is mutated (copy-on-write through `Array`).
/// Filters use the same type with the `KCRS` layout described on ``TensorShape``.
public struct Tensor: Hashable, Sendable {
    /// The dimensions of the tensor.
    public let shape: TensorShape
    /// The elements in row-major order; `scalars.count == shape.elementCount`.
    public private(set) var scalars: [Float]

    /// Creates a tensor from its shape and elements.
    ///
    /// - Parameters:
    ///   - shape: The four dimensions, each ≥ 1.
    ///   - scalars: Exactly `shape.elementCount` elements in row-major order.
    /// - Throws: ``ConvolutionError/invalidShape(parameter:shape:)`` for a dimension below 1,
    ///   ``ConvolutionError/bufferSizeMismatch(parameter:expected:actual:)`` when the count
    ///   differs from the shape's element count.
    public init(shape: TensorShape, scalars: [Float]) throws {
        let expected = try shape.checkedElementCount(name: "tensor")
        guard scalars.count == expected else {
            throw ConvolutionError.bufferSizeMismatch(parameter: "tensor", expected: expected, actual: scalars.count)
        }
        self.shape = shape
        self.scalars = scalars
    }

    /// Creates a tensor of zeros.
    ///
    /// - Parameter shape: The four dimensions, each ≥ 1.
    /// - Throws: As ``init(shape:scalars:)``.
    public init(zeros shape: TensorShape) throws {
        let count = try shape.checkedElementCount(name: "tensor")
        self.shape = shape
        self.scalars = [Float](repeating: 0, count: count)
    }

    /// Creates a tensor whose element at flat index `i` is `value(i)`.
    ///
    /// - Parameters:
    ///   - shape: The four dimensions, each ≥ 1.
    ///   - value: Called once per element, in storage order.
    /// - Throws: As ``init(shape:scalars:)``.
    public init(shape: TensorShape, _ value: (Int) throws -> Float) throws {
        let count = try shape.checkedElementCount(name: "tensor")
        self.shape = shape
        self.scalars = try (0..<count).map(value)
    }

    /// The flat storage index of `[n, c, h, w]`.
    @inlinable
    public func index(_ n: Int, _ c: Int, _ h: Int, _ w: Int) -> Int {
        ((n * shape.channels + c) * shape.height + h) * shape.width + w
    }

    /// The element at `[n, c, h, w]`; indices must lie inside the shape.
    public subscript(n: Int, c: Int, h: Int, w: Int) -> Float {
        get { scalars[index(n, c, h, w)] }
        set { scalars[index(n, c, h, w)] = newValue }
    }

    /// Calls `body` with a pointer to the elements.
    public func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<Float>) throws -> R) rethrows -> R {
        try scalars.withUnsafeBufferPointer(body)
    }

    /// Calls `body` with a mutable pointer to the elements.
    public mutating func withUnsafeMutableBufferPointer<R>(
        _ body: (inout UnsafeMutableBufferPointer<Float>) throws -> R
    ) rethrows -> R {
        try scalars.withUnsafeMutableBufferPointer(body)
    }
}
