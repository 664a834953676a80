import ConvKitCore
import ConvKitCPU
import Testing

/// Hand-computed values, shapes large enough to cross every cache block and task
/// boundary, random floats against the error bound, and the public surface.
@Suite struct CPUBackendShapeTests {
    static let algorithms: [CPUAlgorithm] = [.auto, .direct, .gemm]

    @Test("5×5 input with a 3×3 filter gives the textbook values", arguments: algorithms)
    func textbook(algorithm: CPUAlgorithm) throws {
        let input = try Tensor(shape: TensorShape(1, 1, 5, 5), scalars: [
            1, 1, 1, 0, 0,
            0, 1, 1, 1, 0,
            0, 0, 1, 1, 1,
            0, 0, 1, 1, 0,
            0, 1, 1, 0, 0,
        ])
        let filter = try Tensor(shape: TensorShape(1, 1, 3, 3), scalars: [1, 0, 1, 0, 1, 0, 1, 0, 1])
        let output = try CPUBackend(algorithm: algorithm).convolve(input, weights: filter, descriptor: Conv2DDescriptor())
        #expect(output.shape == TensorShape(1, 1, 3, 3))
        #expect(output.scalars == [4, 3, 4, 2, 4, 3, 2, 3, 4])
    }

    /// (input, output channels, kernel, descriptor): reduction deeper than one depth
    /// block, more pixels than one pixel block, channel counts off the 6×16 tile.
    static let largeShapes: [(TensorShape, Int, Size2D, Conv2DDescriptor)] = [
        (TensorShape(1, 70, 30, 31), 67, Size2D(3), Conv2DDescriptor(padding: .symmetric(height: 1, width: 1))),
        (TensorShape(1, 256, 14, 14), 67, Size2D(1), Conv2DDescriptor()),
        (TensorShape(2, 40, 15, 13), 20, Size2D(1), Conv2DDescriptor(stride: Size2D(2))),
        (TensorShape(1, 24, 33, 35), 30, Size2D(height: 3, width: 5),
         Conv2DDescriptor(stride: Size2D(height: 2, width: 1), dilation: Size2D(height: 1, width: 2),
                          padding: .explicit(top: 0, bottom: 2, left: 3, right: 1), groups: 3)),
        (TensorShape(2, 32, 21, 19), 32, Size2D(3), Conv2DDescriptor(padding: .same, groups: 32)),
        // Small maps whose last panel is partly filled: 49 = 32 + 17, 100 = 3·32 + 4, 36 = 32 + 4.
        (TensorShape(1, 40, 7, 7), 48, Size2D(3), Conv2DDescriptor(padding: .same)),
        (TensorShape(2, 300, 7, 7), 33, Size2D(1), Conv2DDescriptor(activation: .relu)),
        (TensorShape(1, 20, 10, 10), 19, Size2D(3), Conv2DDescriptor(padding: .same, activation: .relu6)),
        (TensorShape(1, 9, 8, 8), 10, Size2D(3), Conv2DDescriptor()),
    ]

    @Test("large shapes equal the reference exactly on integer data", arguments: algorithms)
    func largeIntegerShapes(algorithm: CPUAlgorithm) throws {
        for (index, (shape, outputs, kernel, descriptor)) in Self.largeShapes.enumerated() {
            let testCase = try ConvolutionCase(input: shape, outputChannels: outputs, kernel: kernel,
                                               descriptor: descriptor, bias: index % 2 == 0, integers: true,
                                               seed: UInt64(100 + index))
            let reference = testCase.reference().values
            for threads in [1, 2] {
                // Exact-order only: `.auto` may otherwise pick Winograd for the first shape.
                let output = try testCase.run(CPUBackend(threads: threads, algorithm: algorithm, allowInexact: false))
                testCase.expectExact(output, reference, "\(algorithm) threads \(threads)")
            }
        }
    }

    /// Depthwise maps small enough for the flat kernel (≤ 64 outputs, rows ≤ 8, stride 1,
    /// same width in and out), the edges of that rule, a map just past it, and channel
    /// multipliers (one input plane feeding up to eight output planes at once: LeNet's
    /// first layer, 11 = 8 + 3 planes with stride 2, 3 with dilation and relu, 5 with an odd
    /// row count and top padding).
    static let smallDepthwise: [(TensorShape, Int, Size2D, Conv2DDescriptor)] = [
        (TensorShape(1, 24, 7, 7), 24, Size2D(3), Conv2DDescriptor(padding: .same, groups: 24)),
        (TensorShape(2, 6, 8, 8), 12, Size2D(3), Conv2DDescriptor(padding: .same, groups: 6, activation: .relu6)),
        (TensorShape(1, 5, 4, 3), 5, Size2D(height: 5, width: 3),
         Conv2DDescriptor(dilation: Size2D(height: 1, width: 2), padding: .same, groups: 5)),
        (TensorShape(1, 4, 9, 7), 4, Size2D(7), Conv2DDescriptor(padding: .same, groups: 4, activation: .relu)),
        (TensorShape(1, 3, 7, 7), 3, Size2D(3), Conv2DDescriptor(padding: .explicit(top: 2, bottom: 0, left: 1, right: 1),
                                                                 groups: 3)),
        (TensorShape(1, 8, 9, 9), 8, Size2D(3), Conv2DDescriptor(padding: .same, groups: 8)),
        (TensorShape(1, 1, 28, 28), 6, Size2D(5), Conv2DDescriptor(padding: .symmetric(height: 2, width: 2))),
        (TensorShape(2, 2, 19, 37), 22, Size2D(3), Conv2DDescriptor(stride: Size2D(2), padding: .same, groups: 2)),
        (TensorShape(1, 3, 17, 40), 9, Size2D(height: 3, width: 5),
         Conv2DDescriptor(dilation: Size2D(height: 2, width: 1), padding: .valid, groups: 3, activation: .relu)),
        // Two output rows a pass: an odd row count, and pairs with one row in the padding.
        (TensorShape(1, 1, 10, 12), 5, Size2D(height: 5, width: 3),
         Conv2DDescriptor(padding: .explicit(top: 3, bottom: 0, left: 1, right: 2))),
    ]

    @Test("small depthwise maps and channel multipliers equal the reference exactly on integer data")
    func smallDepthwiseMaps() throws {
        for (index, (shape, outputs, kernel, descriptor)) in Self.smallDepthwise.enumerated() {
            let testCase = try ConvolutionCase(input: shape, outputChannels: outputs, kernel: kernel,
                                               descriptor: descriptor, bias: index % 2 == 0, integers: true,
                                               seed: UInt64(300 + index))
            let reference = testCase.reference().values
            for threads in [1, 2] {
                let output = try testCase.run(CPUBackend(threads: threads, algorithm: .direct))
                testCase.expectExact(output, reference, "depthwise \(shape) threads \(threads)")
            }
        }
    }

    @Test("random floats stay within the direct τ bound", arguments: algorithms)
    func randomFloats(algorithm: CPUAlgorithm) throws {
        var shapes = Self.largeShapes
        shapes.append((TensorShape(3, 6, 9, 8), 9, Size2D(3),
                       Conv2DDescriptor(stride: Size2D(height: 1, width: 2), dilation: Size2D(height: 2, width: 1),
                                        padding: .sameLower, groups: 3)))
        for (index, (shape, outputs, kernel, descriptor)) in shapes.enumerated() {
            let testCase = try ConvolutionCase(input: shape, outputChannels: outputs, kernel: kernel,
                                               descriptor: descriptor, bias: true, integers: false,
                                               seed: UInt64(200 + index))
            let reference = testCase.reference()
            let tau = Agreement.directTau(for: testCase.geometry)
            for threads in [1, 2] {
                let output = try testCase.run(CPUBackend(threads: threads, algorithm: algorithm, allowInexact: false))
                let agreement = testCase.agreement(output, reference)
                #expect(agreement.count == output.count)
                #expect(agreement.holds(tau: tau),
                        "\(algorithm) threads \(threads) \(testCase): worst ratio \(agreement.worstRatio) > τ \(tau) at \(testCase.coordinates(agreement.worstIndex))")
            }
        }
    }

    @Test("one backend serves many threads at once")
    func concurrentCallers() async throws {
        let testCase = try ConvolutionCase(input: TensorShape(1, 16, 20, 20), outputChannels: 24, kernel: Size2D(3),
                                           descriptor: Conv2DDescriptor(padding: .same), bias: true,
                                           integers: true, seed: 7)
        let reference = testCase.reference().values
        let backend = CPUBackend(threads: 2, algorithm: .gemm)
        let outputs = try await withThrowingTaskGroup(of: [Float].self) { group in
            for _ in 0..<8 { group.addTask { try testCase.run(backend) } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        for output in outputs { testCase.expectExact(output, reference, "concurrent") }
    }

    @Test("planned algorithm is concrete and follows the documented heuristic")
    func plannedAlgorithm() throws {
        let dense = try Conv2DDescriptor(padding: .same).resolve(input: TensorShape(1, 64, 56, 56),
                                                                 weights: TensorShape(64, 64, 3, 3))
        let depthwise = try Conv2DDescriptor(padding: .same, groups: 144)
            .resolve(input: TensorShape(1, 144, 56, 56), weights: TensorShape(144, 1, 3, 3))
        let tiny = try Conv2DDescriptor().resolve(input: TensorShape(1, 1, 5, 5), weights: TensorShape(1, 1, 3, 3))
        let auto = CPUBackend()
        #expect(auto.plannedAlgorithm(for: dense) == .winograd)
        // From 10×10 maps on, not below.
        for (side, expected) in [(10, CPUAlgorithm.winograd), (14, .winograd), (9, .gemm), (7, .gemm)] {
            let map = try Conv2DDescriptor(padding: .same).resolve(input: TensorShape(1, 256, side, side),
                                                                   weights: TensorShape(256, 256, 3, 3))
            #expect(auto.plannedAlgorithm(for: map) == expected, "\(side)×\(side)")
        }
        #expect(CPUBackend(allowInexact: false).plannedAlgorithm(for: dense) == .gemm)
        #expect(CPUBackend(allowInexact: false).plannedAlgorithm(for: depthwise) == .direct)
        #expect(auto.plannedAlgorithm(for: depthwise) == .direct)
        #expect(auto.plannedAlgorithm(for: tiny) == .direct)
        let strided = try Conv2DDescriptor(stride: Size2D(2), padding: .same)
            .resolve(input: TensorShape(1, 64, 56, 56), weights: TensorShape(64, 64, 3, 3))
        #expect(auto.plannedAlgorithm(for: strided) == .gemm)
        for algorithm in [CPUAlgorithm.direct, .gemm] {
            for geometry in [dense, depthwise, tiny] {
                #expect(CPUBackend(algorithm: algorithm).plannedAlgorithm(for: geometry) == algorithm)
            }
        }
    }

    @Test("identity, thread clamping and device description")
    func surface() {
        #expect(CPUBackend().name == "cpu")
        #expect(CPUBackend(threads: 0).threads == 1)
        #expect(CPUBackend(threads: -4).threads == 1)
        #expect(CPUBackend(threads: 3).threads == 3)
        #expect(CPUBackend().threads == ProcessInfo.processInfo.activeProcessorCount)
        #expect(CPUBackend().device.kind == .cpu)
        #expect(CPUBackend().device.computeUnits == ProcessInfo.processInfo.activeProcessorCount)
        #expect(!CPUBackend().device.name.isEmpty)
    }
}

import Foundation
