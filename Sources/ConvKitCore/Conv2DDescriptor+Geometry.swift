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
        var explicit = PaddingAmounts(top: 0, bottom: 0, left: 0, right: 0)
        if case let .explicit(top, bottom, left, right) = padding {
            explicit = PaddingAmounts(top: top, bottom: bottom, left: left, right: right)
            guard top >= 0, bottom >= 0, left >= 0, right >= 0 else { throw ConvolutionError.invalidPadding(explicit) }
        }
        let rows = try AxisGeometry.resolve(input: input.height, kernel: weights.height, stride: stride.height,
                                            dilation: dilation.height, padding: padding,
                                            explicit: (explicit.top, explicit.bottom))
        let columns = try AxisGeometry.resolve(input: input.width, kernel: weights.width, stride: stride.width,
                                               dilation: dilation.width, padding: padding,
                                               explicit: (explicit.left, explicit.right))
        guard let rows, let columns else {
            // `same` always fits, so only valid (zero) and explicit amounts reach here.
            throw ConvolutionError.kernelDoesNotFit(
                effectiveKernel: Size2D(height: dilation.height &* (weights.height - 1) &+ 1,
                                        width: dilation.width &* (weights.width - 1) &+ 1),
                paddedInput: Size2D(height: input.height &+ explicit.top &+ explicit.bottom,
                                    width: input.width &+ explicit.left &+ explicit.right))
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
