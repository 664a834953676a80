import ConvKitCore

/// A convolution with fixed weights and bias, prepared once on a ``CPUBackend`` and run
/// on many inputs, as a network's layers are.
///
/// Preparing copies the weights and bias and, where the planned algorithm is `gemm` and
/// this CPU's tile can use them, packs the weights for the tile (``PackedGEMMWeights``),
/// the reorder onnxruntime's session and oneDNN's primitives do once; where it is
/// `winograd`, transforms them once (``WinogradWeights``). Each run computes
/// exactly what ``CPUBackend/execute(_:input:weights:bias:output:)`` computes (the same
/// sums in the same order: packing moves weights, not arithmetic).
///
/// Immutable after creation, so one instance may run on several threads at once.
public final class CPUPreparedConvolution: @unchecked Sendable {
    /// The backend that runs it (threads, algorithm choice).
    public let backend: CPUBackend
    /// The validated problem.
    public let geometry: ConvolutionGeometry
    private let weights: [Float]
    private let bias: [Float]?
    private let packed: PackedGEMMWeights?
    private let transformed: WinogradWeights?

    /// Prepares `geometry` with `weights` (`K·Cg·R·S` floats) and `bias` (`K` floats,
    /// present exactly when `geometry.hasBias`).
    ///
    /// - Throws: ``ConvolutionError/bufferSizeMismatch(parameter:expected:actual:)`` for a
    ///   wrongly sized buffer, ``BackendError/unsupported(backend:reason:)`` for a geometry
    ///   the CPU kernels cannot index.
    init(_ backend: CPUBackend, _ geometry: ConvolutionGeometry, weights: UnsafeBufferPointer<Float>,
         bias: UnsafeBufferPointer<Float>?) throws {
        try CPUBackend.check("weights", weights.count, geometry.filter.elementCount)
        try CPUBackend.check("bias", bias?.count ?? 0, geometry.hasBias ? geometry.filter.batch : 0)
        try backend.requireSupport(for: geometry)
        self.backend = backend
        self.geometry = geometry
        self.weights = Array(weights)
        self.bias = bias.map(Array.init)
        let algorithm = backend.plannedAlgorithm(for: geometry)
        packed = algorithm == .gemm ? PackedGEMMWeights(geometry, weights: weights) : nil
        transformed = algorithm == .winograd ? WinogradWeights(geometry, weights: weights) : nil
    }

    /// The algorithm each run uses (``CPUBackend/plannedAlgorithm(for:)``).
    public var algorithm: CPUAlgorithm { backend.plannedAlgorithm(for: geometry) }

    /// Whether the weights were packed for the GEMM tile (false where the algorithm is not
    /// `gemm` or the tile reads weights in place on this CPU).
    public var hasPackedWeights: Bool { packed != nil }

    /// Whether the weights were transformed for Winograd once (the algorithm is `winograd`).
    public var hasTransformedWeights: Bool { transformed != nil }

    /// Convolves `input` (`geometry.input.elementCount` floats) into `output`
    /// (`geometry.output.elementCount` floats, overwritten).
    ///
    /// - Throws: ``ConvolutionError/bufferSizeMismatch(parameter:expected:actual:)``;
    ///   ``ConvolutionError/invalidValue(parameter:expected:actual:)`` when `output`
    ///   overlaps `input`.
    public func execute(input: UnsafeBufferPointer<Float>, output: UnsafeMutableBufferPointer<Float>) throws {
        try CPUBackend.check("input", input.count, geometry.input.elementCount)
        try CPUBackend.check("output", output.count, geometry.output.elementCount)
        try ConvolutionError.requireApart(output, from: [("input", input)])
        weights.withUnsafeBufferPointer { w in
            bias.withUnsafeBufferPointerOrNil { b in
                backend.run(geometry, input: input, weights: w, bias: b, output: output, packed: packed,
                            transformed: transformed)
            }
        }
    }

    /// Convolves `input` into a new tensor of `geometry.output`'s shape.
    ///
    /// - Throws: ``ConvolutionError/invalidValue(parameter:expected:actual:)`` when the
    ///   input's shape is not `geometry.input`.
    public func callAsFunction(_ input: Tensor) throws -> Tensor {
        guard input.shape == geometry.input else {
            throw ConvolutionError.invalidValue(parameter: "input shape", expected: "\(geometry.input)", actual: "\(input.shape)")
        }
        var output = try Tensor(zeros: geometry.output)
        try input.withUnsafeBufferPointer { x in
            try output.withUnsafeMutableBufferPointer { y in try execute(input: x, output: y) }
        }
        return output
    }
}

extension CPUBackend {
    /// Prepares `geometry` with fixed `weights` and `bias` for repeated runs (see
    /// ``CPUPreparedConvolution``).
    ///
    /// - Throws: ``ConvolutionError/bufferSizeMismatch(parameter:expected:actual:)`` for a
    ///   wrongly sized buffer; ``BackendError/unsupported(backend:reason:)``.
    public func prepare(_ geometry: ConvolutionGeometry, weights: UnsafeBufferPointer<Float>,
                        bias: UnsafeBufferPointer<Float>?) throws -> CPUPreparedConvolution {
        try CPUPreparedConvolution(self, geometry, weights: weights, bias: bias)
    }
}

extension CPUBackend {
    /// Prepares a layer chain: every convolution step becomes a ``CPUPreparedConvolution``
    /// (its GEMM weights packed once), run through two reused host buffers.
    ///
    /// - Throws: ``BackendError/unsupported(backend:reason:)`` for a step the CPU kernels
    ///   cannot index.
    public func prepare(_ plan: LayerChainPlan) throws -> any PreparedLayerChain {
        let prepared: [HostLayerChain<CPUBackend>.PreparedStep?] = try plan.steps.map { step in
            guard case let .conv(geometry, weights, bias) = step else { return nil }
            let layer = try weights.withUnsafeBufferPointer { w in
                try bias.withUnsafeBufferPointerOrNil { b in try prepare(geometry, weights: w, bias: b) }
            }
            return { x, y in try layer.execute(input: x, output: y) }
        }
        return HostLayerChain(backend: self, plan: plan, prepared: prepared)
    }

    /// Runs the chain once with the weights as given: packing them would cost a pass over
    /// them that one run does not win back.
    public func runOnce(_ plan: LayerChainPlan, input: Tensor) throws -> Tensor {
        try HostLayerChain(backend: self, plan: plan).run(input)
    }
}
