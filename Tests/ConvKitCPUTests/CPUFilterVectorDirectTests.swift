import CConvKitKernels
import ConvKitCore
import ConvKitCPU
import Testing
import _ConvKitTestSupport

/// The direct path's filter-vector kernel (`direct_filter_vectors.c`): which geometries it
/// takes, and that it equals the reference on them.
@Suite struct CPUFilterVectorDirectTests {
    /// conv1's shape at a smaller size, and the kernel's edges: a last 64-filter block of
    /// 1 and of 3 vectors (72, 100 filters), rows of 6-pixel tiles with a shorter last one,
    /// bands of 8 rows with a partial last band (one thread), stride 3, dilation, asymmetric padding,
    /// groups, batch, bias, and both kinds of epilogue.
    static let shapes: [(TensorShape, Int, Size2D, Conv2DDescriptor)] = [
        (TensorShape(1, 3, 40, 44), 64, Size2D(7), Conv2DDescriptor(stride: Size2D(2), padding: .same, activation: .relu)),
        (TensorShape(1, 3, 37, 41), 72, Size2D(7), Conv2DDescriptor(stride: Size2D(2), padding: .symmetric(height: 3, width: 3))),
        (TensorShape(2, 4, 30, 51), 100, Size2D(5),
         Conv2DDescriptor(stride: Size2D(3), dilation: Size2D(2), padding: .explicit(top: 1, bottom: 4, left: 3, right: 0),
                          activation: .sigmoid)),
        (TensorShape(1, 6, 25, 34), 80, Size2D(5), Conv2DDescriptor(padding: .same, groups: 2, activation: .leakyRelu(alpha: 0.25))),
    ]

    static func cases(integers: Bool) throws -> [ConvolutionCase] {
        try ConvolutionCase.table(shapes, integers: integers, firstSeed: 900)
    }

    @Test("takes few-channel layers of 64–160 taps per filter; auto sends conv1 there")
    func fits() throws {
        let conv1 = try Conv2DDescriptor(stride: Size2D(2), padding: .same)
            .resolve(input: TensorShape(1, 3, 224, 224), weights: TensorShape(64, 3, 7, 7))
        let vgg = try Conv2DDescriptor(padding: .same).resolve(input: TensorShape(1, 3, 224, 224),
                                                               weights: TensorShape(64, 3, 3, 3))
        guard ck_has_avx512() != 0 else {
            #expect(!CPUBackend.filterVectorDirectFits(conv1))
            return
        }
        #expect(CPUBackend.filterVectorDirectFits(conv1))
        #expect(CPUBackend().plannedAlgorithm(for: conv1) == .direct)
        // 27 taps: the kernel could run it, the GEMM is faster.
        #expect(CPUBackend.filterVectorDirectFits(vgg))
        #expect(CPUBackend().plannedAlgorithm(for: vgg) == .gemm)
        // One input channel stays with the depthwise kernel.
        #expect(!CPUBackend.filterVectorDirectFits(try Conv2DDescriptor(stride: Size2D(2), padding: .same)
            .resolve(input: TensorShape(1, 1, 64, 64), weights: TensorShape(64, 1, 7, 7))))
        // 4 × 7 × 7 = 196 taps is over the 160 whose weights stay in L1; a reflected border.
        #expect(!CPUBackend.filterVectorDirectFits(try Conv2DDescriptor(stride: Size2D(2), padding: .same)
            .resolve(input: TensorShape(1, 4, 64, 64), weights: TensorShape(64, 4, 7, 7))))
        #expect(!CPUBackend.filterVectorDirectFits(try Conv2DDescriptor(stride: Size2D(2), padding: .same, border: .reflect)
            .resolve(input: TensorShape(1, 3, 64, 64), weights: TensorShape(64, 3, 7, 7))))
        for testCase in try Self.cases(integers: true) {
            #expect(CPUBackend.filterVectorDirectFits(testCase.geometry), "\(testCase)")
        }
    }

    @Test("integer data equals the reference exactly and floats lie within τ, one and two threads")
    func matches() throws {
        for integers in [true, false] {
            for testCase in try Self.cases(integers: integers) {
                let reference = testCase.reference()
                for threads in [1, 2] {
                    let output = try testCase.run(CPUBackend(threads: threads, algorithm: .direct))
                    try testCase.expectDirectAgreement(output, reference, integers: integers,
                                                       "filter-vector direct, threads \(threads)") {
                        // Fused sigmoid and leaky ReLU: the GEMM path's sums are the same, so are its outputs.
                        let gemm = try testCase.run(CPUBackend(threads: threads, algorithm: .gemm))
                        #expect(output == gemm, "\(testCase), threads \(threads)")
                    }
                }
            }
        }
    }
}
