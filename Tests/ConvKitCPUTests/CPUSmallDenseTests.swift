import ConvKitCore
import ConvKitCPU
import Testing

/// The flat small-dense kernel (`small_dense.c`) that the direct path takes for small
/// dense maps: which geometries it takes, and that it equals the reference on them.
@Suite struct CPUSmallDenseTests {
    static func geometry(_ input: TensorShape, _ outputs: Int, _ kernel: Size2D,
                         _ descriptor: Conv2DDescriptor = Conv2DDescriptor()) throws -> ConvolutionGeometry {
        let filter = TensorShape(outputs, input.channels / descriptor.groups, kernel.height, kernel.width)
        return try descriptor.resolve(input: input, weights: filter, biasCount: nil)
    }

    /// Filter counts that exercise every tile height (2, 4, 6, 8 and their tails) and output
    /// planes from one partial vector to the 64-vector limit.
    static func cases() throws -> [ConvolutionCase] {
        var cases: [ConvolutionCase] = []
        var seed: UInt64 = 500
        let shapes: [(TensorShape, Int, Size2D, Conv2DDescriptor)] = [
            (TensorShape(1, 6, 14, 14), 16, Size2D(5), Conv2DDescriptor()),  // LeNet conv2
            (TensorShape(1, 3, 8, 8), 4, Size2D(3), Conv2DDescriptor(padding: .same)),
            (TensorShape(2, 4, 9, 7), 9, Size2D(3), Conv2DDescriptor(padding: .symmetric(height: 2, width: 1))),
            (TensorShape(1, 2, 32, 32), 5, Size2D(3), Conv2DDescriptor(padding: .same)),  // 1024 outputs
            (TensorShape(1, 2, 5, 19), 13, Size2D(height: 1, width: 3),
             Conv2DDescriptor(stride: Size2D(height: 1, width: 2), padding: .explicit(top: 0, bottom: 1, left: 2, right: 0))),
            (TensorShape(3, 4, 11, 10), 18, Size2D(3), Conv2DDescriptor(dilation: Size2D(2), padding: .same, groups: 2)),
            (TensorShape(1, 8, 6, 6), 24, Size2D(2), Conv2DDescriptor(padding: .explicit(top: 1, bottom: 0, left: 0, right: 1))),
            (TensorShape(1, 2, 3, 40), 1, Size2D(height: 3, width: 5), Conv2DDescriptor(padding: .valid)),
            (TensorShape(1, 2, 4, 4), 3, Size2D(1), Conv2DDescriptor()),
        ]
        for (input, outputs, kernel, descriptor) in shapes {
            seed += 1
            cases.append(try ConvolutionCase(input: input, outputChannels: outputs, kernel: kernel,
                                             descriptor: descriptor, bias: seed % 2 == 0, integers: true, seed: seed))
        }
        return cases
    }

    @Test("takes small dense maps with stride 1 along rows and a zero border, nothing else")
    func fits() throws {
        let lenet = try Self.geometry(TensorShape(1, 6, 14, 14), 16, Size2D(5))
        guard CPUBackend.smallDenseKernelAvailable else {
            // Without AVX-512 the direct path keeps its plane-by-plane loops.
            #expect(!CPUBackend.smallDenseFits(lenet))
            return
        }
        #expect(CPUBackend.smallDenseFits(lenet))
        #expect(CPUBackend.smallDenseFits(try Self.geometry(TensorShape(1, 3, 8, 8), 4, Size2D(3),
                                                            Conv2DDescriptor(padding: .same))))
        // One input channel per group is the depthwise kernel's; stride 2 along rows breaks
        // the flat walk; a reflected border needs mapped taps; 64×64 outputs exceed 64 vectors.
        #expect(!CPUBackend.smallDenseFits(try Self.geometry(TensorShape(1, 1, 28, 28), 6, Size2D(5))))
        #expect(!CPUBackend.smallDenseFits(try Self.geometry(TensorShape(1, 3, 8, 8), 4, Size2D(3),
                                                             Conv2DDescriptor(stride: Size2D(2)))))
        #expect(!CPUBackend.smallDenseFits(try Self.geometry(TensorShape(1, 3, 8, 8), 4, Size2D(3),
                                                             Conv2DDescriptor(padding: .same, border: .reflect))))
        #expect(!CPUBackend.smallDenseFits(try Self.geometry(TensorShape(1, 2, 64, 64), 4, Size2D(1))))
        // A non-zero border that no tap reads is no obstacle.
        #expect(CPUBackend.smallDenseFits(try Self.geometry(TensorShape(1, 3, 8, 8), 4, Size2D(3),
                                                            Conv2DDescriptor(border: .reflect))))
        // Exact-only auto sends LeNet conv2 here (it is above the plain direct threshold);
        // with inexact algorithms allowed it runs Winograd F(2×2, 5×5).
        #expect(lenet.flops >= CPUBackend.directFLOPThreshold)
        #expect(CPUBackend(algorithm: .auto, allowInexact: false).plannedAlgorithm(for: lenet) == .direct)
        #expect(CPUBackend(algorithm: .auto).plannedAlgorithm(for: lenet) == .winograd)
    }

    @Test("integer data equals the reference exactly, one and two threads")
    func exact() throws {
        let cases = try Self.cases()
        if CPUBackend.smallDenseKernelAvailable {
            #expect(cases.allSatisfy { CPUBackend.smallDenseFits($0.geometry) })
        }
        for testCase in cases {
            let reference = testCase.reference().values
            for threads in [1, 2] {
                let output = try testCase.run(CPUBackend(threads: threads, algorithm: .direct))
                testCase.expectExact(output, reference, "small dense threads \(threads)")
            }
        }
    }

    @Test("an infinite weight on a padding tap is skipped, as the reference skips it")
    func infiniteWeightOnPadding() throws {
        var testCase = try ConvolutionCase(input: TensorShape(1, 3, 6, 7), outputChannels: 5, kernel: Size2D(3),
                                           descriptor: Conv2DDescriptor(padding: .same), bias: true,
                                           integers: true, seed: 77)
        // Tap (r 0, s 0) of filter 2, channel 1 reads the padding for every output of row 0
        // and column 0; elsewhere it meets data.
        var weights = testCase.weights
        weights[(2 * 3 + 1) * 9] = .infinity
        testCase = testCase.with(weights: weights, bias: testCase.bias)
        let reference = testCase.reference().values
        let output = try testCase.run(CPUBackend(threads: 1, algorithm: .direct))
        #expect(output[2 * 42].isFinite, "output (2, 0, 0) reads the Inf tap only on padding")
        for index in reference.indices {
            let expected = Float(reference[index])
            #expect(output[index] == expected || (output[index].isNaN && expected.isNaN),
                    "index \(index): got \(output[index]), reference \(expected)")
        }
    }
}
