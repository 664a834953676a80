import ConvKitCore
import ConvKitCPU
import Testing
import _ConvKitTestSupport

/// One convolution problem with its data, and the checks every test runs on it.
struct ConvolutionCase: CustomStringConvertible {
    let geometry: ConvolutionGeometry
    let descriptor: Conv2DDescriptor
    var input: [Float]
    var weights: [Float]
    var bias: [Float]?

    /// Builds a case with integer data in `-3...3` (exact in float32 whatever the
    /// summation order) or uniform floats in `-1..<1`.
    init(input shape: TensorShape, outputChannels: Int, kernel: Size2D, descriptor: Conv2DDescriptor,
         bias: Bool, integers: Bool, seed: UInt64) throws {
        var generator = SeededGenerator(seed: seed)
        let filter = TensorShape(outputChannels, shape.channels / descriptor.groups, kernel.height, kernel.width)
        geometry = try descriptor.resolve(input: shape, weights: filter, biasCount: bias ? outputChannels : nil)
        self.descriptor = descriptor
        func values(_ count: Int) -> [Float] {
            (0..<count).map { _ in
                integers ? Float(Int.random(in: -3...3, using: &generator)) : Float.random(in: -1..<1, using: &generator)
            }
        }
        input = values(shape.elementCount)
        weights = values(filter.elementCount)
        self.bias = bias ? values(outputChannels) : nil
    }

    /// One case per row of a shape table (input, filters, kernel, descriptor), bias on every
    /// other row, seeds counting up from `firstSeed`.
    static func table(_ shapes: [(TensorShape, Int, Size2D, Conv2DDescriptor)], integers: Bool,
                      firstSeed: UInt64) throws -> [ConvolutionCase] {
        try shapes.enumerated().map { index, shape in
            try ConvolutionCase(input: shape.0, outputChannels: shape.1, kernel: shape.2, descriptor: shape.3,
                                bias: index % 2 == 0, integers: integers, seed: firstSeed + UInt64(index))
        }
    }

    var description: String {
        "input \(geometry.input) filter \(geometry.filter) stride \(descriptor.stride) dilation \(descriptor.dilation) "
            + "padding \(descriptor.padding) groups \(descriptor.groups) bias \(bias != nil)"
    }

    /// The float64 reference values and magnitudes.
    func reference() -> (values: [Double], magnitudes: [Double]) {
        input.withUnsafeBufferPointer { x in
            weights.withUnsafeBufferPointer { w in
                if let bias {
                    bias.withUnsafeBufferPointer { ReferenceBackend.evaluate(geometry, input: x, weights: w, bias: $0) }
                } else {
                    ReferenceBackend.evaluate(geometry, input: x, weights: w, bias: nil)
                }
            }
        }
    }

    /// Runs `backend` through the validating entry point.
    func run(_ backend: CPUBackend) throws -> [Float] {
        var output = [Float](repeating: .nan, count: geometry.output.elementCount)
        try input.withUnsafeBufferPointer { x in
            try weights.withUnsafeBufferPointer { w in
                try output.withUnsafeMutableBufferPointer { y in
                    if let bias {
                        try bias.withUnsafeBufferPointer {
                            try backend.convolve(geometry, input: x, weights: w, bias: $0, output: y)
                        }
                    } else {
                        try backend.convolve(geometry, input: x, weights: w, bias: nil, output: y)
                    }
                }
            }
        }
        return output
    }

    /// How `output` agrees with `reference` (from ``reference()``), element by element.
    func agreement(_ output: [Float], _ reference: (values: [Double], magnitudes: [Double])) -> Agreement {
        output.withUnsafeBufferPointer { Agreement(output: $0, values: reference.values, magnitudes: reference.magnitudes) }
    }

    /// The check a direct-path kernel test makes of one output: bit-exact on small integers
    /// under a piecewise-linear activation (or none), within the exact-order τ on floats with
    /// no activation, and otherwise whatever `nonlinear` checks (a smooth activation's
    /// rounding is the kernel's own).
    func expectDirectAgreement(_ output: [Float], _ reference: (values: [Double], magnitudes: [Double]),
                               integers: Bool, _ label: String, nonlinear: () throws -> Void,
                               sourceLocation: SourceLocation = #_sourceLocation) rethrows {
        if integers && geometry.activation.isPiecewiseLinear {
            expectExact(output, reference.values, label, sourceLocation: sourceLocation)
        } else if geometry.activation == .identity {
            let agreement = agreement(output, reference)
            #expect(agreement.holds(tau: Agreement.directTau(for: geometry)),
                    "\(label) \(self): worst ratio \(agreement.worstRatio)", sourceLocation: sourceLocation)
        } else {
            try nonlinear()
        }
    }

    /// Records an issue at the first element that differs from the rounded reference.
    ///
    /// - Returns: Whether every element matched.
    @discardableResult
    func expectExact(_ output: [Float], _ reference: [Double], _ label: String,
                     sourceLocation: SourceLocation = #_sourceLocation) -> Bool {
        for index in reference.indices where output[index] != Float(reference[index]) {
            let message = "\(label) \(self): first mismatch at flat index \(index) \(coordinates(index)): "
                + "got \(output[index]), expected \(Float(reference[index]))"
            Issue.record(Comment(rawValue: message), sourceLocation: sourceLocation)
            return false
        }
        return true
    }

    /// `[n, k, i, j]` of a flat output index.
    func coordinates(_ index: Int) -> String {
        let y = geometry.output
        return "[\(index / (y.channels * y.height * y.width)), \(index / (y.height * y.width) % y.channels), "
            + "\(index / y.width % y.height), \(index % y.width)]"
    }
}
