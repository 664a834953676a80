/// A problem with what the caller asked for: a shape, a parameter or a buffer.
///
/// Every case renders one template, `invalid <parameter>: expected <rule>, but got
/// <value>`, for example
/// `invalid stride: expected height ≥ 1 and width ≥ 1, but got (height: 0, width: 2)`.
/// These errors are thrown before any work starts, identically by every backend, and a
/// dispatcher never retries them on another device.
public enum ConvolutionError: Error, Hashable, Sendable, CustomStringConvertible {
    /// A tensor shape with a dimension below 1 (`parameter` is `input`, `weights`, ...).
    case invalidShape(parameter: String, shape: TensorShape)
    /// A stride below 1 on some axis.
    case invalidStride(Size2D)
    /// A dilation below 1 on some axis.
    case invalidDilation(Size2D)
    /// `groups` below 1 or not dividing the input or output channel count.
    case invalidGroups(groups: Int, inputChannels: Int, outputChannels: Int)
    /// Weights whose shape is not `[K, C/groups, R, S]`.
    case weightsShapeMismatch(expected: TensorShape, actual: TensorShape)
    /// A bias whose length is not `K`.
    case biasCountMismatch(expected: Int, actual: Int)
    /// A negative explicit padding amount.
    case invalidPadding(PaddingAmounts)
    /// The effective kernel is larger than the padded input on some axis.
    case kernelDoesNotFit(effectiveKernel: Size2D, paddedInput: Size2D)
    /// A buffer whose element count does not match the shape it stands for.
    case bufferSizeMismatch(parameter: String, expected: Int, actual: Int)
    /// An element count, byte size or FLOP count that does not fit the index type.
    case sizeOverflow(parameter: String)
    /// A value outside the range a parameter accepts (used by pooling and the CLI).
    case invalidValue(parameter: String, expected: String, actual: String)

    /// The parameter the error is about, as it appears in the message.
    public var parameter: String {
        switch self {
        case let .invalidShape(parameter, _): "\(parameter) shape"
        case .invalidStride: "stride"
        case .invalidDilation: "dilation"
        case .invalidGroups: "groups"
        case .weightsShapeMismatch: "weights shape"
        case .biasCountMismatch: "bias"
        case .invalidPadding: "padding"
        case .kernelDoesNotFit: "kernel size"
        case let .bufferSizeMismatch(parameter, _, _): "\(parameter) buffer"
        case let .sizeOverflow(parameter): parameter
        case let .invalidValue(parameter, _, _): parameter
        }
    }

    /// What the parameter must satisfy.
    public var expected: String {
        switch self {
        case .invalidShape: "every dimension ≥ 1"
        case .invalidStride, .invalidDilation: "height ≥ 1 and width ≥ 1"
        case let .invalidGroups(_, inputChannels, outputChannels):
            "groups ≥ 1 dividing input channels (\(inputChannels)) and output channels (\(outputChannels))"
        case let .weightsShapeMismatch(expected, _): "[K, C/groups, R, S] = \(expected)"
        case let .biasCountMismatch(expected, _): "\(expected) values (one per output channel)"
        case .invalidPadding: "every amount ≥ 0"
        case let .kernelDoesNotFit(_, padded):
            "effective kernel ≤ padded input \(padded) on both axes"
        case let .bufferSizeMismatch(_, expected, _): "\(expected) elements"
        case .sizeOverflow: "a size that fits in \(Int.bitWidth)-bit Int"
        case let .invalidValue(_, expected, _): expected
        }
    }

    /// The value that broke the rule.
    public var actual: String {
        switch self {
        case let .invalidShape(_, shape): "\(shape)"
        case let .invalidStride(size), let .invalidDilation(size): "\(size)"
        case let .invalidGroups(groups, _, _): "\(groups)"
        case let .weightsShapeMismatch(_, actual): "\(actual)"
        case let .biasCountMismatch(_, actual): "\(actual) values"
        case let .invalidPadding(amounts): "\(amounts)"
        case let .kernelDoesNotFit(kernel, _): "effective kernel \(kernel)"
        case let .bufferSizeMismatch(_, _, actual): "\(actual) elements"
        case .sizeOverflow: "an overflow"
        case let .invalidValue(_, _, actual): actual
        }
    }

    /// `invalid <parameter>: expected <rule>, but got <value>`.
    public var description: String { "invalid \(parameter): expected \(expected), but got \(actual)" }
}

extension ConvolutionError {
    /// Throws ``invalidValue(parameter:expected:actual:)`` when `output` shares memory with
    /// any of `inputs` (named as in the message): no kernel runs in place, and one that
    /// writes an output it is still reading corrupts both.
    package static func requireApart(_ output: UnsafeMutableBufferPointer<Float>,
                                     from inputs: [(name: String, buffer: UnsafeBufferPointer<Float>?)]) throws {
        guard let base = output.baseAddress, !output.isEmpty else { return }
        let start = UInt(bitPattern: base), end = start + UInt(output.count * MemoryLayout<Float>.stride)
        for (name, buffer) in inputs {
            guard let buffer, let other = buffer.baseAddress, !buffer.isEmpty else { continue }
            let otherStart = UInt(bitPattern: other)
            let otherEnd = otherStart + UInt(buffer.count * MemoryLayout<Float>.stride)
            if otherStart < end && start < otherEnd {
                throw ConvolutionError.invalidValue(parameter: "output buffer",
                                                    expected: "memory apart from the \(name) (nothing runs in place)",
                                                    actual: "a buffer overlapping the \(name)")
            }
        }
    }
}
