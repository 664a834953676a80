/// Something that computes convolutions: ConvKit's CPU kernels, an OpenCL device, or
/// the float64 reference.
///
/// Implementers must:
/// - be safe to call from many threads at once (`Sendable`, no unsynchronised state);
/// - write every element of `output` and read nothing else from it;
/// - not retain the buffers after ``execute(_:input:weights:bias:output:)`` returns;
/// - throw ``ConvolutionError`` only for caller mistakes (the public entry points have
///   already validated the geometry), and their own error types for device failures.
///
/// Callers use ``convolve(_:weights:bias:descriptor:)`` or
/// ``convolve(_:input:weights:bias:output:)``, which validate before calling
/// ``execute(_:input:weights:bias:output:)``.
public protocol ConvolutionBackend: Sendable {
    /// A short stable name: `"cpu"`, `"reference"`, `"opencl:0"`.
    var name: String { get }
    /// The hardware this backend runs on.
    var device: ComputeDevice { get }
    /// Whether this backend can run `geometry`, with the reason when it cannot.
    func support(for geometry: ConvolutionGeometry) -> BackendSupport
    /// The name of the algorithm or kernel that would run `geometry` (`"gemm"`,
    /// `"depthwise"`, `"conv2d_tiled"`), as benchmarks report it.
    func algorithmName(for geometry: ConvolutionGeometry) -> String
    /// The `τ` of `semantics.md` the algorithm that would run `geometry` guarantees:
    /// `|y − ref| ≤ τ · ε · (Σ|x̂·w| + |b|)` per element.
    func errorBound(for geometry: ConvolutionGeometry) -> Double
    /// Computes the convolution into `output`.
    ///
    /// - Parameters:
    ///   - geometry: A geometry from ``Conv2DDescriptor/resolve(input:weights:biasCount:)``.
    ///   - input: `geometry.input.elementCount` elements.
    ///   - weights: `geometry.filter.elementCount` elements.
    ///   - bias: `K` elements, present exactly when `geometry.hasBias`.
    ///   - output: `geometry.output.elementCount` elements to overwrite.
    /// - Throws: A backend-specific error when the device fails.
    func execute(_ geometry: ConvolutionGeometry, input: UnsafeBufferPointer<Float>,
                 weights: UnsafeBufferPointer<Float>, bias: UnsafeBufferPointer<Float>?,
                 output: UnsafeMutableBufferPointer<Float>) throws
    /// Pools `input` into `output`.
    ///
    /// - Parameters:
    ///   - geometry: A geometry from ``Pool2DDescriptor/resolve(input:)``.
    ///   - input: `geometry.input.elementCount` elements.
    ///   - output: `geometry.output.elementCount` elements to overwrite.
    /// - Throws: A backend-specific error when the device fails.
    func executePool(_ geometry: PoolGeometry, input: UnsafeBufferPointer<Float>,
                     output: UnsafeMutableBufferPointer<Float>) throws
    /// Prepares a validated layer chain to run repeatedly on this backend.
    ///
    /// The default runs step by step through two reused host buffers; a device backend
    /// overrides it to keep weights and intermediate feature maps on the device.
    ///
    /// - Parameter plan: From ``LayerChainPlan/init(_:input:)``.
    /// - Throws: A backend-specific error (for example when uploading weights fails).
    func prepare(_ plan: LayerChainPlan) throws -> any PreparedLayerChain
    /// Runs a validated layer chain once.
    ///
    /// The default prepares the chain and runs it; a backend whose preparation only pays
    /// off over many runs (the CPU's weight packing) overrides it to skip that.
    ///
    /// - Parameters:
    ///   - plan: From ``LayerChainPlan/init(_:input:)``.
    ///   - input: A tensor of shape `plan.input`.
    /// - Throws: A backend-specific error.
    func runOnce(_ plan: LayerChainPlan, input: Tensor) throws -> Tensor
}

extension ConvolutionBackend {
    /// `"direct"`: a backend with a single algorithm need not say more.
    public func algorithmName(for geometry: ConvolutionGeometry) -> String { "direct" }

    /// ``Agreement/directTau(for:)``: the bound of an exact-order float32 sum.
    public func errorBound(for geometry: ConvolutionGeometry) -> Double { Agreement.directTau(for: geometry) }

    /// Convolves caller-owned buffers, checking their sizes against `geometry`.
    ///
    /// - Parameters:
    ///   - geometry: The validated problem.
    ///   - input: The input elements.
    ///   - weights: The filter elements.
    ///   - bias: The bias, required exactly when `geometry.hasBias`.
    ///   - output: Receives the result; its previous contents are ignored.
    /// - Throws: ``ConvolutionError/bufferSizeMismatch(parameter:expected:actual:)`` for a
    ///   wrongly sized buffer, ``ConvolutionError/invalidValue(parameter:expected:actual:)``
    ///   for an output overlapping another buffer; otherwise whatever the backend throws.
    public func convolve(_ geometry: ConvolutionGeometry, input: UnsafeBufferPointer<Float>,
                         weights: UnsafeBufferPointer<Float>, bias: UnsafeBufferPointer<Float>?,
                         output: UnsafeMutableBufferPointer<Float>) throws {
        try Self.check("input", input.count, geometry.input.elementCount)
        try Self.check("weights", weights.count, geometry.filter.elementCount)
        try Self.check("bias", bias?.count ?? 0, geometry.hasBias ? geometry.filter.batch : 0)
        try Self.check("output", output.count, geometry.output.elementCount)
        try ConvolutionError.requireApart(output, from: [("input", input), ("weights", weights), ("bias", bias)])
        try requireSupport(for: geometry)
        try execute(geometry, input: input, weights: weights, bias: bias, output: output)
    }

    /// Convolves two tensors and returns a new output tensor.
    ///
    /// - Parameters:
    ///   - input: The input, `N×C×H×W`.
    ///   - weights: The filters, `K×(C/groups)×R×S`.
    ///   - bias: `K` values added to each output channel, or `nil`.
    ///   - descriptor: Stride, dilation, padding and groups.
    /// - Returns: The feature maps, `N×K×OH×OW`.
    /// - Throws: ``ConvolutionError`` for invalid shapes or parameters (before any work);
    ///   ``BackendError`` or a device error when the backend fails.
    public func convolve(_ input: Tensor, weights: Tensor, bias: [Float]? = nil,
                         descriptor: Conv2DDescriptor) throws -> Tensor {
        let geometry = try descriptor.resolve(input: input.shape, weights: weights.shape, biasCount: bias?.count)
        var output = try Tensor(zeros: geometry.output)
        try input.withUnsafeBufferPointer { input in
            try weights.withUnsafeBufferPointer { weights in
                try output.withUnsafeMutableBufferPointer { output in
                    if let bias {
                        try bias.withUnsafeBufferPointer { bias in
                            try convolve(geometry, input: input, weights: weights, bias: bias, output: output)
                        }
                    } else {
                        try convolve(geometry, input: input, weights: weights, bias: nil, output: output)
                    }
                }
            }
        }
        return output
    }

    /// Pools a tensor and returns the pooled maps.
    ///
    /// - Parameters:
    ///   - input: The input, `N×C×H×W`.
    ///   - descriptor: Mode, window, stride, dilation, padding, ceil mode, divisor rule.
    /// - Returns: `N×C×OH×OW`.
    /// - Throws: ``ConvolutionError`` for invalid parameters (before any work), or the
    ///   backend's error when it fails.
    public func pool(_ input: Tensor, descriptor: Pool2DDescriptor) throws -> Tensor {
        let geometry = try descriptor.resolve(input: input.shape)
        var output = try Tensor(zeros: geometry.output)
        try input.withUnsafeBufferPointer { x in
            try output.withUnsafeMutableBufferPointer { y in try executePool(geometry, input: x, output: y) }
        }
        return output
    }

    /// Runs a chain of convolution and pooling steps, validating every shape first.
    ///
    /// - Parameters:
    ///   - steps: The layers, applied in order.
    ///   - input: The input of the first step.
    /// - Returns: The output of the last step.
    /// - Throws: ``ConvolutionError`` naming the first invalid step before any work, or
    ///   the backend's error when it fails.
    public func run(_ steps: [LayerStep], input: Tensor) throws -> Tensor {
        try runOnce(LayerChainPlan(steps, input: input.shape), input: input)
    }

    /// Prepares the chain and runs it.
    public func runOnce(_ plan: LayerChainPlan, input: Tensor) throws -> Tensor {
        try prepare(plan).run(input)
    }

    /// Steps through the chain on the host, alternating between two scratch buffers.
    public func prepare(_ plan: LayerChainPlan) throws -> any PreparedLayerChain {
        HostLayerChain(backend: self, plan: plan)
    }

    /// Throws ``ConvolutionError/bufferSizeMismatch(parameter:expected:actual:)`` unless
    /// the `parameter` buffer holds `expected` elements.
    package static func check(_ parameter: String, _ actual: Int, _ expected: Int) throws {
        guard actual == expected else {
            throw ConvolutionError.bufferSizeMismatch(parameter: parameter, expected: expected, actual: actual)
        }
    }

    /// Throws ``BackendError/unsupported(backend:reason:)`` when ``support(for:)`` rejects
    /// `geometry`.
    package func requireSupport(for geometry: ConvolutionGeometry) throws {
        if case let .unsupported(reason) = support(for: geometry) {
            throw BackendError.unsupported(backend: name, reason: reason)
        }
    }
}

/// A failure of a backend rather than of the caller's input.
public enum BackendError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The backend cannot run this geometry.
    case unsupported(backend: String, reason: String)

    /// A one-line explanation.
    public var description: String {
        switch self {
        case let .unsupported(backend, reason): "\(backend) cannot run this convolution: \(reason)"
        }
    }
}
