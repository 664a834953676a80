import ConvKitCore

/// One convolution problem of the cross-check grid: shapes, descriptor and data seed.
public struct CrossCheckCase: Hashable, Sendable, CustomStringConvertible {
    /// The input shape `N×C×H×W`.
    public var input: TensorShape
    /// The filter shape `K×(C/groups)×R×S`.
    public var weights: TensorShape
    /// Stride, dilation, padding and groups.
    public var descriptor: Conv2DDescriptor
    /// Whether a bias is added.
    public var hasBias: Bool
    /// The seed the data is drawn from.
    public var seed: UInt64

    /// Creates a case.
    public init(input: TensorShape, weights: TensorShape, descriptor: Conv2DDescriptor, hasBias: Bool, seed: UInt64) {
        self.input = input
        self.weights = weights
        self.descriptor = descriptor
        self.hasBias = hasBias
        self.seed = seed
    }

    /// A line that identifies the case in a failure message.
    public var description: String {
        let d = descriptor
        return "input \(input) weights \(weights) stride \(d.stride) dilation \(d.dilation) "
            + "padding \(d.padding) groups \(d.groups) bias \(hasBias) seed \(seed)"
    }

    /// The kind of data a case is filled with.
    public enum DataKind: Sendable {
        /// Integers in `-3...3`: float32 sums of them are exact, so backends must agree bit for bit.
        case smallIntegers
        /// Uniform floats in `-1..<1`: backends must agree within their documented τ.
        case randomFloats
    }

    /// The input, weights and bias of this case, drawn from ``seed``.
    public func data(_ kind: DataKind) -> (input: Tensor, weights: Tensor, bias: [Float]?) {
        var generator = SeededGenerator(seed: seed)
        func draw() -> Float {
            switch kind {
            case .smallIntegers: Float(Int.random(in: -3...3, using: &generator))
            case .randomFloats: Float.random(in: -1..<1, using: &generator)
            }
        }
        // Shapes in the grid are small and valid, so these initialisers cannot throw.
        let x = try! Tensor(shape: input) { _ in draw() }
        let w = try! Tensor(shape: weights) { _ in draw() }
        let b = hasBias ? (0..<weights.batch).map { _ in draw() } : nil
        return (x, w, b)
    }
}
