import ConvKitCore
import ConvKitCPU
import Testing
import _ConvKitTestSupport

/// The direct path's one-input-channel kernel (`single_channel.c`, LeNet's first layer):
/// which geometries it takes, and that it equals the reference on them.
@Suite struct CPUSingleChannelTests {
    /// LeNet's first layer, and the kernel's edges: filter blocks of 6 with a last one of
    /// 1, 3 and 1 filters (7, 9, 13), rows of 1–3 vectors of the widened grid with a last
    /// partial vector, a last tile of fewer than 4 vectors, dilation, asymmetric padding,
    /// batch, bias, and both kinds of epilogue.
    static let shapes: [(TensorShape, Int, Size2D, Conv2DDescriptor)] = [
        (TensorShape(1, 1, 28, 28), 6, Size2D(5), Conv2DDescriptor(padding: .same)),
        (TensorShape(2, 1, 13, 17), 9, Size2D(3), Conv2DDescriptor(dilation: Size2D(2), padding: .same, activation: .relu)),
        (TensorShape(1, 1, 20, 30), 7, Size2D(height: 7, width: 5),
         Conv2DDescriptor(padding: .explicit(top: 3, bottom: 1, left: 0, right: 4), activation: .sigmoid)),
        (TensorShape(3, 1, 9, 40), 13, Size2D(3), Conv2DDescriptor(padding: .valid)),
    ]

    static func cases(integers: Bool) throws -> [ConvolutionCase] {
        try ConvolutionCase.table(shapes, integers: integers, firstSeed: 950)
    }

    @Test("takes one-channel layers of stride 1 on small planes; auto sends LeNet conv1 there")
    func fits() throws {
        let lenet = try Self.cases(integers: true)[0].geometry
        guard CPUBackend.smallDenseKernelAvailable else {
            #expect(!CPUBackend.singleChannelFits(lenet))
            return
        }
        for testCase in try Self.cases(integers: true) {
            #expect(CPUBackend.singleChannelFits(testCase.geometry), "\(testCase)")
        }
        #expect(CPUBackend().plannedAlgorithm(for: lenet) == .direct)
        // One filter (the depthwise plane kernel's), stride 2, two input channels, a depthwise
        // layer, a plane too large for the stack grid.
        #expect(!CPUBackend.singleChannelFits(try Conv2DDescriptor()
            .resolve(input: TensorShape(1, 1, 5, 5), weights: TensorShape(1, 1, 3, 3))))
        #expect(!CPUBackend.singleChannelFits(try Conv2DDescriptor(stride: Size2D(2))
            .resolve(input: TensorShape(1, 1, 28, 28), weights: TensorShape(6, 1, 5, 5))))
        #expect(!CPUBackend.singleChannelFits(try Conv2DDescriptor()
            .resolve(input: TensorShape(1, 2, 28, 28), weights: TensorShape(6, 2, 5, 5))))
        #expect(!CPUBackend.singleChannelFits(try Conv2DDescriptor(groups: 4)
            .resolve(input: TensorShape(1, 4, 28, 28), weights: TensorShape(4, 1, 3, 3))))
        #expect(!CPUBackend.singleChannelFits(try Conv2DDescriptor(padding: .same)
            .resolve(input: TensorShape(1, 1, 112, 112), weights: TensorShape(8, 1, 3, 3))))
    }

    @Test("integer data equals the reference exactly and floats lie within τ, one and two threads")
    func matches() throws {
        for integers in [true, false] {
            for testCase in try Self.cases(integers: integers) {
                let reference = testCase.reference()
                for threads in [1, 2] {
                    let output = try testCase.run(CPUBackend(threads: threads, algorithm: .direct))
                    testCase.expectDirectAgreement(output, reference, integers: integers,
                                                   "single channel, threads \(threads)") {
                        // Sigmoid: within a few ulps of the reference's own sigmoid of the sum.
                        for index in output.indices {
                            let expected = Float(reference.values[index])
                            #expect(abs(output[index] - expected) <= 1e-5, "index \(index)")
                        }
                    }
                }
            }
        }
    }
}
