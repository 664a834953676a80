/// One layer of a feature-extraction chain.
public enum LayerStep: Sendable {
    /// A convolution with its weights, optional bias and the descriptor's fused activation.
    case conv(Conv2DDescriptor, weights: Tensor, bias: [Float]?)
    /// Max or average pooling.
    case pool(Pool2DDescriptor)

    /// A convolution whose descriptor's activation is replaced by `activation`.
    ///
    /// - Parameters:
    ///   - descriptor: Stride, dilation, padding, groups, border.
    ///   - weights: `K×(C/groups)×R×S`.
    ///   - bias: `K` values, or `nil`.
    ///   - activation: The fused epilogue.
    public static func conv(_ descriptor: Conv2DDescriptor, _ weights: Tensor, _ bias: [Float]? = nil,
                            _ activation: Activation = .identity) -> LayerStep {
        var fused = descriptor
        fused.activation = activation
        return .conv(fused, weights: weights, bias: bias)
    }

    /// Max pooling with `descriptor`'s window, stride, padding and ceil rule.
    public static func maxPool(_ descriptor: Pool2DDescriptor) -> LayerStep {
        var max = descriptor
        max.mode = .max
        return .pool(max)
    }

    /// Average pooling with `descriptor`'s window, stride, padding and divisor rule.
    public static func averagePool(_ descriptor: Pool2DDescriptor) -> LayerStep {
        var average = descriptor
        average.mode = .average
        return .pool(average)
    }
}

/// A chain of layers whose every shape has been validated.
public struct LayerChainPlan: Sendable {
    /// One validated step.
    public enum Step: Sendable {
        /// A convolution, its weights and bias.
        case conv(ConvolutionGeometry, weights: Tensor, bias: [Float]?)
        /// A pooling.
        case pool(PoolGeometry)

        /// The step's output shape.
        public var output: TensorShape {
            switch self {
            case let .conv(geometry, _, _): geometry.output
            case let .pool(geometry): geometry.output
            }
        }
    }

    /// The validated steps, in order.
    public let steps: [Step]
    /// The first step's input shape.
    public let input: TensorShape

    /// The last step's output shape.
    public var output: TensorShape { steps.last?.output ?? input }
    /// The largest intermediate feature map, in elements (what a host chain allocates).
    public var largestIntermediate: Int { steps.dropLast().map(\.output.elementCount).max() ?? 0 }

    /// Validates every step against the shape the previous one produces.
    ///
    /// - Parameters:
    ///   - steps: The layers.
    ///   - input: The first step's input shape.
    /// - Throws: ``ConvolutionError`` for the first invalid step, before any work;
    ///   ``ConvolutionError/invalidValue(parameter:expected:actual:)`` for an empty chain.
    public init(_ steps: [LayerStep], input: TensorShape) throws {
        guard !steps.isEmpty else {
            throw ConvolutionError.invalidValue(parameter: "layer chain", expected: "at least one step", actual: "no steps")
        }
        var shape = input
        var resolved: [Step] = []
        for step in steps {
            switch step {
            case let .conv(descriptor, weights, bias):
                let geometry = try descriptor.resolve(input: shape, weights: weights.shape, biasCount: bias?.count)
                resolved.append(.conv(geometry, weights: weights, bias: bias))
            case let .pool(descriptor):
                resolved.append(.pool(try descriptor.resolve(input: shape)))
            }
            shape = resolved[resolved.count - 1].output
        }
        self.steps = resolved
        self.input = input
    }
}

/// A layer chain ready to run on one backend.
public protocol PreparedLayerChain: Sendable {
    /// The validated chain.
    var plan: LayerChainPlan { get }
    /// Runs the chain on `input` (whose shape must be ``LayerChainPlan/input``).
    ///
    /// - Throws: ``ConvolutionError/invalidShape(parameter:shape:)``-style errors for a
    ///   wrong input shape; the backend's error when it fails.
    func run(_ input: Tensor) throws -> Tensor

    /// Runs the chain on caller-owned buffers: `input` holds ``LayerChainPlan/input``'s
    /// elements and `output` receives ``LayerChainPlan/output``'s, so repeated runs
    /// allocate no tensors.
    ///
    /// - Throws: ``ConvolutionError/bufferSizeMismatch(parameter:expected:actual:)`` for a
    ///   buffer of the wrong size, ``ConvolutionError/invalidValue(parameter:expected:actual:)``
    ///   for an output overlapping the input; the backend's error when it fails.
    func run(_ input: UnsafeBufferPointer<Float>, into output: UnsafeMutableBufferPointer<Float>) throws
}

extension PreparedLayerChain {
    /// Checks both buffers against the plan's shapes, and that they do not overlap.
    package func checkBuffers(_ input: UnsafeBufferPointer<Float>, _ output: UnsafeMutableBufferPointer<Float>) throws {
        guard input.count == plan.input.elementCount else {
            throw ConvolutionError.bufferSizeMismatch(parameter: "chain input", expected: plan.input.elementCount,
                                                      actual: input.count)
        }
        guard output.count == plan.output.elementCount else {
            throw ConvolutionError.bufferSizeMismatch(parameter: "chain output", expected: plan.output.elementCount,
                                                      actual: output.count)
        }
        try ConvolutionError.requireApart(output, from: [("input", input)])
    }
}

/// The default chain: each step on the host, through two scratch buffers reused per run.
package struct HostLayerChain<Backend: ConvolutionBackend>: PreparedLayerChain {
    /// Runs one convolution step of a chain whose weights a backend prepared once.
    package typealias PreparedStep = @Sendable (UnsafeBufferPointer<Float>, UnsafeMutableBufferPointer<Float>) throws -> Void

    let backend: Backend
    package let plan: LayerChainPlan
    /// Per step, the backend's prepared convolution, or nil to call `convolve` with the
    /// plan's weights.
    let prepared: [PreparedStep?]

    package init(backend: Backend, plan: LayerChainPlan, prepared: [PreparedStep?] = []) {
        self.backend = backend
        self.plan = plan
        self.prepared = prepared
    }

    package func run(_ input: Tensor) throws -> Tensor {
        guard input.shape == plan.input else {
            throw ConvolutionError.invalidValue(parameter: "chain input shape", expected: "\(plan.input)", actual: "\(input.shape)")
        }
        var output = try Tensor(zeros: plan.output)
        try input.withUnsafeBufferPointer { x in
            try output.withUnsafeMutableBufferPointer { y in try run(x, into: y) }
        }
        return output
    }

    package func run(_ input: UnsafeBufferPointer<Float>, into output: UnsafeMutableBufferPointer<Float>) throws {
        try checkBuffers(input, output)
        // A single step needs no scratch: it reads the input and writes the output.
        let capacity = plan.steps.count > 1 ? plan.largestIntermediate : 0
        let scratch = (UnsafeMutableBufferPointer<Float>.allocate(capacity: capacity),
                       UnsafeMutableBufferPointer<Float>.allocate(capacity: capacity))
        defer {
            scratch.0.deallocate()
            scratch.1.deallocate()
        }
        var source = input
        for (index, step) in plan.steps.enumerated() {
            let preparedStep = index < prepared.count ? prepared[index] : nil
            if index == plan.steps.count - 1 {
                try execute(step, preparedStep, source, output)
            } else {
                let target = index % 2 == 0 ? scratch.0 : scratch.1
                let y = UnsafeMutableBufferPointer(rebasing: target[0..<step.output.elementCount])
                try execute(step, preparedStep, source, y)
                source = UnsafeBufferPointer(y)
            }
        }
    }

    private func execute(_ step: LayerChainPlan.Step, _ preparedStep: PreparedStep?, _ x: UnsafeBufferPointer<Float>,
                         _ y: UnsafeMutableBufferPointer<Float>) throws {
        if let preparedStep { return try preparedStep(x, y) }
        switch step {
        case let .conv(geometry, weights, bias):
            try weights.withUnsafeBufferPointer { w in
                try bias.withUnsafeBufferPointerOrNil { b in
                    try backend.convolve(geometry, input: x, weights: w, bias: b, output: y)
                }
            }
        case let .pool(geometry):
            try backend.executePool(geometry, input: x, output: y)
        }
    }
}

extension Optional where Wrapped == [Float] {
    /// Calls `body` with a buffer pointer to the array, or `nil` when there is none.
    public func withUnsafeBufferPointerOrNil<R>(_ body: (UnsafeBufferPointer<Float>?) throws -> R) rethrows -> R {
        switch self {
        case let .some(array): try array.withUnsafeBufferPointer { try body($0) }
        case .none: try body(nil)
        }
    }
}
