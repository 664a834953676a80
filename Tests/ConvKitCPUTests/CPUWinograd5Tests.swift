import CConvKitKernels
import ConvKitCore
@testable import ConvKitCPU
import Testing

/// Winograd F(2×2, 5×5) (`winograd_5x5.c`) on small maps: which geometries it takes, and
/// that it stays within its τ on random floats (it is not exact-order).
@Suite struct CPUWinograd5Tests {
    static let available = ck_has_avx512() != 0

    /// Shapes that reach every path: 1–6 tiles a row (6 splits into two register tiles),
    /// output heights of every remainder mod 4 (a last pair of one tile row, a last tile
    /// row of one output row), odd widths (a last tile of one column), padding on one side
    /// only and wider than the filter, 2–16 channels, filter counts off the 16-lane block,
    /// groups and batches.
    static let shapes: [(TensorShape, Int, Conv2DDescriptor)] = [
        (TensorShape(1, 6, 14, 14), 16, Conv2DDescriptor()),  // LeNet conv2: 10×10, 5 tiles a row
        (TensorShape(1, 2, 5, 5), 1, Conv2DDescriptor()),  // one output
        (TensorShape(1, 3, 12, 12), 8, Conv2DDescriptor(padding: .same)),  // 6 tiles a row
        (TensorShape(2, 4, 9, 11), 17, Conv2DDescriptor(padding: .explicit(top: 2, bottom: 0, left: 0, right: 3))),
        (TensorShape(1, 16, 15, 7), 33, Conv2DDescriptor(padding: .symmetric(height: 1, width: 2))),
        (TensorShape(3, 6, 6, 6), 40, Conv2DDescriptor(padding: .explicit(top: 6, bottom: 5, left: 5, right: 1),
                                                       groups: 2)),
        (TensorShape(1, 9, 22, 10), 12, Conv2DDescriptor(padding: .same, groups: 3)),
        (TensorShape(2, 5, 8, 9), 3, Conv2DDescriptor(padding: .sameLower)),
    ]

    static func cases(integers: Bool = false) throws -> [ConvolutionCase] {
        try shapes.enumerated().map { index, shape in
            try ConvolutionCase(input: shape.0, outputChannels: shape.1, kernel: Size2D(5), descriptor: shape.2,
                                bias: index % 3 != 1, integers: integers, seed: UInt64(9100 + index))
        }
    }

    @Test("takes 5×5 stride-1 zero-border maps of ≤ 12 columns and ≤ 16 channels per group, nothing else")
    func eligibility() throws {
        let lenet = try Conv2DDescriptor().resolve(input: TensorShape(1, 6, 14, 14), weights: TensorShape(16, 6, 5, 5))
        guard Self.available else {
            #expect(!CPUBackend.winogradEligible(lenet))
            #expect(CPUBackend().plannedAlgorithm(for: lenet) != .winograd)
            return
        }
        for testCase in try Self.cases() {
            #expect(CPUBackend.winogradEligible(testCase.geometry), "\(testCase)")
            #expect(CPUBackend().plannedAlgorithm(for: testCase.geometry) == .winograd, "\(testCase)")
            #expect(CPUBackend(allowInexact: false).plannedAlgorithm(for: testCase.geometry) != .winograd)
        }
        let refused: [(TensorShape, TensorShape, Conv2DDescriptor)] = [
            (TensorShape(1, 6, 17, 17), TensorShape(16, 6, 5, 5), Conv2DDescriptor()),  // 13 columns
            (TensorShape(1, 17, 14, 14), TensorShape(16, 17, 5, 5), Conv2DDescriptor()),  // 17 channels
            (TensorShape(1, 6, 14, 14), TensorShape(16, 6, 5, 5), Conv2DDescriptor(stride: Size2D(2))),
            (TensorShape(1, 6, 14, 14), TensorShape(16, 6, 5, 5), Conv2DDescriptor(dilation: Size2D(2))),
            (TensorShape(1, 6, 14, 14), TensorShape(16, 6, 5, 5), Conv2DDescriptor(padding: .same, border: .reflect)),
            (TensorShape(1, 6, 14, 14), TensorShape(16, 6, 5, 3), Conv2DDescriptor()),
        ]
        for (input, filter, descriptor) in refused {
            let geometry = try descriptor.resolve(input: input, weights: filter)
            #expect(!CPUBackend.winogradEligible(geometry), "\(geometry)")
            #expect(CPUBackend(algorithm: .winograd).plannedAlgorithm(for: geometry) == .gemm)
            #expect(CPUBackend().plannedAlgorithm(for: geometry) != .winograd)
        }
        // One input channel stays on the direct path's one-channel kernel (LeNet conv1).
        let conv1 = try Conv2DDescriptor(padding: .same).resolve(input: TensorShape(1, 1, 28, 28),
                                                                 weights: TensorShape(6, 1, 5, 5))
        #expect(CPUBackend().plannedAlgorithm(for: conv1) == .direct)
    }

    @Test("random floats stay within winogradTau, one and two threads, one-shot and prepared")
    func withinTau() throws {
        guard Self.available else { return }
        var worst = 0.0
        for testCase in try Self.cases() {
            let reference = testCase.reference()
            let tau = CPUBackend.winogradTau(for: testCase.geometry)
            for threads in [1, 2] {
                let backend = CPUBackend(threads: threads)
                let output = try testCase.run(backend)
                let agreement = testCase.agreement(output, reference)
                worst = max(worst, agreement.worstRatio / tau)
                #expect(agreement.holds(tau: tau), "threads \(threads) \(testCase): worst ratio \(agreement.worstRatio) > τ \(tau)")
                let prepared = try testCase.weights.withUnsafeBufferPointer { w in
                    try testCase.bias.withUnsafeBufferPointerOrNil { b in
                        try backend.prepare(testCase.geometry, weights: w, bias: b)
                    }
                }
                #expect(prepared.algorithm == .winograd && prepared.hasTransformedWeights)
                let again = try prepared(Tensor(shape: testCase.geometry.input, scalars: testCase.input)).scalars
                #expect(again.indices.allSatisfy { again[$0].bitPattern == output[$0].bitPattern },
                        "prepared and one-shot differ: \(testCase), threads \(threads)")
            }
        }
        print("winograd 5×5: \(Self.shapes.count) random-float shapes, worst ratio / τ = \(worst)")
        #expect(worst > 0)
    }

    @Test("small integers: exact with allowInexact: false, where auto would run Winograd")
    func integers() throws {
        guard Self.available else { return }
        for testCase in try Self.cases(integers: true) {
            let reference = testCase.reference().values
            for threads in [1, 2] {
                let backend = CPUBackend(threads: threads, allowInexact: false)
                #expect(backend.plannedAlgorithm(for: testCase.geometry) != .winograd)
                testCase.expectExact(try testCase.run(backend), reference, "exact-only auto, threads \(threads)")
            }
        }
    }

    @Test("fused activations: in registers and after the store")
    func activations() throws {
        guard Self.available else { return }
        for (index, activation) in [Activation.relu, .relu6, .clamp(lower: -0.5, upper: 0.25), .leakyRelu(alpha: 0.2),
                                    .sigmoid, .tanh].enumerated() {
            let descriptor = Conv2DDescriptor(padding: .same, activation: activation)
            let testCase = try ConvolutionCase(input: TensorShape(1, 5, 10, 11), outputChannels: 20, kernel: Size2D(5),
                                               descriptor: descriptor, bias: true, integers: false,
                                               seed: UInt64(9200 + index))
            let output = try testCase.run(CPUBackend(threads: 2))
            let agreement = testCase.agreement(output, testCase.reference())
            #expect(agreement.holds(tau: CPUBackend.winogradTau(for: testCase.geometry)),
                    "\(activation): worst ratio \(agreement.worstRatio)")
        }
    }
}
