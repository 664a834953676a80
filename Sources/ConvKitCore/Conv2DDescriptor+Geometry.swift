extension Conv2DDescriptor {
    /// Validates the descriptor against concrete shapes and computes the geometry.
    ///
    /// Checks run in a fixed order, so the same bad call gives the same error on every
    /// backend: input shape, weights shape, stride, dilation, groups, weights channels,
    /// bias, padding amounts, kernel fit, border constraint, activation, size overflow.
    ///
    /// - Parameters:
    ///   - input: The input shape `N×C×H×W`.
    ///   - weights: The filter shape `K×(C/groups)×R×S`.
    ///   - biasCount: The number of bias values, or `nil` for no bias.
    /// - Returns: The validated geometry.
    /// - Throws: ``ConvolutionError`` naming the first rule that failed.
    public func resolve(input: TensorShape, weights: TensorShape, biasCount: Int? = nil) throws -> ConvolutionGeometry {
        _ = try input.checkedElementCount(name: "input")
        _ = try weights.checkedElementCount(name: "weights")
        guard stride.height >= 1, stride.width >= 1 else { throw ConvolutionError.invalidStride(stride) }
        guard dilation.height >= 1, dilation.width >= 1 else { throw ConvolutionError.invalidDilation(dilation) }
        let outputChannels = weights.batch
        guard groups >= 1, input.channels % groups == 0, outputChannels % groups == 0 else {
            throw ConvolutionError.invalidGroups(groups: groups, inputChannels: input.channels, outputChannels: outputChannels)
        }
        let expectedWeights = TensorShape(outputChannels, input.channels / groups, weights.height, weights.width)
        guard weights == expectedWeights else {
            throw ConvolutionError.weightsShapeMismatch(expected: expectedWeights, actual: weights)
        }
        if let biasCount, biasCount != outputChannels {
            throw ConvolutionError.biasCountMismatch(expected: outputChannels, actual: biasCount)
        }
        guard let (rows, columns) = try AxisGeometry.resolve(input: input.spatial, kernel: weights.spatial, stride: stride,
                                                              dilation: dilation, padding: padding) else {
            // `same` always fits, so only valid (zero) and explicit amounts reach here.
            let pads = padding.explicitAmounts
            throw ConvolutionError.kernelDoesNotFit(
                effectiveKernel: Size2D(height: dilation.height &* (weights.height - 1) &+ 1,
                                        width: dilation.width &* (weights.width - 1) &+ 1),
                paddedInput: Size2D(height: input.height &+ pads.top &+ pads.bottom,
                                    width: input.width &+ pads.left &+ pads.right))
        }
        try checkBorder(rows: rows, columns: columns)
        try checkActivation()
        let output = TensorShape(input.batch, outputChannels, rows.output, columns.output)
        _ = try output.checkedElementCount(name: "output")
        var flops = 2
        for factor in [input.batch, outputChannels, rows.output, columns.output,
                       input.channels / groups, weights.height, weights.width] {
            let (product, overflow) = flops.multipliedReportingOverflow(by: factor)
            guard !overflow else { throw ConvolutionError.sizeOverflow(parameter: "FLOP count") }
            flops = product
        }
        return ConvolutionGeometry(input: input, filter: weights, output: output, rows: rows, columns: columns,
                                   groups: groups, hasBias: biasCount != nil, border: border, activation: activation,
                                   flops: flops)
    }

    private func checkBorder(rows: AxisGeometry, columns: AxisGeometry) throws {
        let pads = [rows.padBegin, rows.padEnd, columns.padBegin, columns.padEnd]
        let extents = [rows.input, rows.input, columns.input, columns.input]
        let limit: (Int, Int) -> Bool
        let rule: String
        switch border {
        case .zeros, .replicate: return
        case .reflect: (limit, rule) = ({ $0 < $1 }, "<")
        case .circular: (limit, rule) = ({ $0 <= $1 }, "≤")
        }
        guard zip(pads, extents).allSatisfy(limit) else {
            throw ConvolutionError.invalidValue(
                parameter: "\(border) border", expected: "every pad \(rule) the input extent (height: \(rows.input), width: \(columns.input))",
                actual: "pads (top: \(pads[0]), bottom: \(pads[1]), left: \(pads[2]), right: \(pads[3]))")
        }
    }

    private func checkActivation() throws {
        switch activation {
        case let .clamp(lower, upper):
            guard !lower.isNaN, !upper.isNaN, lower <= upper else {
                throw ConvolutionError.invalidValue(parameter: "clamp", expected: "lower ≤ upper, neither NaN",
                                                    actual: "(lower: \(lower), upper: \(upper))")
            }
        case let .leakyRelu(alpha):
            guard alpha.isFinite else {
                throw ConvolutionError.invalidValue(parameter: "leaky-relu", expected: "a finite α", actual: "\(alpha)")
            }
        default: break
        }
    }
}
