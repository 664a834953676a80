import ConvKitCore
import Testing

struct ErrorCase: Sendable, CustomStringConvertible {
    var name: String
    var input: TensorShape
    var weights: TensorShape
    var descriptor: Conv2DDescriptor
    var biasCount: Int?
    var message: String
    var description: String { name }
}

private let errorCases: [ErrorCase] = [
    .init(name: "zero channels", input: TensorShape(1, 0, 5, 5), weights: TensorShape(1, 1, 3, 3),
          descriptor: Conv2DDescriptor(), biasCount: nil,
          message: "invalid input shape: expected every dimension ≥ 1, but got 1×0×5×5"),
    .init(name: "zero kernel", input: TensorShape(1, 1, 5, 5), weights: TensorShape(1, 1, 0, 3),
          descriptor: Conv2DDescriptor(), biasCount: nil,
          message: "invalid weights shape: expected every dimension ≥ 1, but got 1×1×0×3"),
    .init(name: "stride 0", input: TensorShape(1, 1, 5, 5), weights: TensorShape(1, 1, 3, 3),
          descriptor: Conv2DDescriptor(stride: Size2D(height: 0, width: 2)), biasCount: nil,
          message: "invalid stride: expected height ≥ 1 and width ≥ 1, but got (height: 0, width: 2)"),
    .init(name: "dilation 0", input: TensorShape(1, 1, 5, 5), weights: TensorShape(1, 1, 3, 3),
          descriptor: Conv2DDescriptor(dilation: Size2D(height: 1, width: 0)), biasCount: nil,
          message: "invalid dilation: expected height ≥ 1 and width ≥ 1, but got (height: 1, width: 0)"),
    .init(name: "groups not dividing", input: TensorShape(1, 3, 5, 5), weights: TensorShape(4, 1, 3, 3),
          descriptor: Conv2DDescriptor(groups: 2), biasCount: nil,
          message: "invalid groups: expected groups ≥ 1 dividing input channels (3) and output channels (4), but got 2"),
    .init(name: "groups 0", input: TensorShape(1, 3, 5, 5), weights: TensorShape(4, 1, 3, 3),
          descriptor: Conv2DDescriptor(groups: 0), biasCount: nil,
          message: "invalid groups: expected groups ≥ 1 dividing input channels (3) and output channels (4), but got 0"),
    .init(name: "mismatched channels", input: TensorShape(1, 3, 5, 5), weights: TensorShape(4, 2, 3, 3),
          descriptor: Conv2DDescriptor(), biasCount: nil,
          message: "invalid weights shape: expected [K, C/groups, R, S] = 4×3×3×3, but got 4×2×3×3"),
    .init(name: "bias length", input: TensorShape(1, 3, 5, 5), weights: TensorShape(4, 3, 3, 3),
          descriptor: Conv2DDescriptor(), biasCount: 3,
          message: "invalid bias: expected 4 values (one per output channel), but got 3 values"),
    .init(name: "negative padding", input: TensorShape(1, 1, 5, 5), weights: TensorShape(1, 1, 3, 3),
          descriptor: Conv2DDescriptor(padding: .explicit(top: -1, bottom: 0, left: 0, right: 0)), biasCount: nil,
          message: "invalid padding: expected every amount ≥ 0, but got (top: -1, bottom: 0, left: 0, right: 0)"),
    .init(name: "kernel larger than padded input", input: TensorShape(1, 1, 2, 5), weights: TensorShape(1, 1, 3, 3),
          descriptor: Conv2DDescriptor(), biasCount: nil,
          message: "invalid kernel size: expected effective kernel ≤ padded input (height: 2, width: 5) on both axes, "
              + "but got effective kernel (height: 3, width: 3)"),
    .init(name: "dilated kernel larger than padded input", input: TensorShape(1, 1, 5, 5), weights: TensorShape(1, 1, 3, 3),
          descriptor: Conv2DDescriptor(dilation: Size2D(height: 1, width: 3), padding: .explicit(top: 0, bottom: 0, left: 1, right: 0)),
          biasCount: nil,
          message: "invalid kernel size: expected effective kernel ≤ padded input (height: 5, width: 6) on both axes, "
              + "but got effective kernel (height: 3, width: 7)"),
    .init(name: "overflowing element count", input: TensorShape(1 << 40, 1 << 30, 1, 1), weights: TensorShape(1, 1, 1, 1),
          descriptor: Conv2DDescriptor(), biasCount: nil,
          message: "invalid input element count: expected a size that fits in 64-bit Int, but got an overflow"),
    .init(name: "overflowing padding", input: TensorShape(1, 1, 5, 5), weights: TensorShape(1, 1, 3, 3),
          descriptor: Conv2DDescriptor(padding: .explicit(top: Int.max, bottom: 1, left: 0, right: 0)), biasCount: nil,
          message: "invalid padded input: expected a size that fits in 64-bit Int, but got an overflow"),
]

@Suite("Validation errors")
struct ErrorMessageTests {
    @Test("each rule throws its typed error with the pinned message", arguments: errorCases)
    func message(_ errorCase: ErrorCase) {
        #expect {
            try errorCase.descriptor.resolve(input: errorCase.input, weights: errorCase.weights, biasCount: errorCase.biasCount)
        } throws: { error in
            (error as? ConvolutionError)?.description == errorCase.message
        }
    }

    @Test("a reference call with a wrongly sized buffer throws instead of reading past it")
    func bufferSize() throws {
        let geometry = try Conv2DDescriptor().resolve(input: TensorShape(1, 1, 5, 5), weights: TensorShape(1, 1, 3, 3))
        let input = [Float](repeating: 1, count: 24), weights = [Float](repeating: 1, count: 9)
        var output = [Float](repeating: 0, count: 9)
        #expect {
            try input.withUnsafeBufferPointer { x in
                try weights.withUnsafeBufferPointer { w in
                    try output.withUnsafeMutableBufferPointer { y in
                        try ReferenceBackend().convolve(geometry, input: x, weights: w, bias: nil, output: y)
                    }
                }
            }
        } throws: { error in
            (error as? ConvolutionError)?.description == "invalid input buffer: expected 25 elements, but got 24 elements"
        }
    }

    @Test("a tensor whose element count does not match its shape is rejected")
    func tensorCount() {
        #expect(throws: ConvolutionError.bufferSizeMismatch(parameter: "tensor", expected: 4, actual: 3)) {
            try Tensor(shape: TensorShape(1, 1, 2, 2), scalars: [1, 2, 3])
        }
    }
}
