import ConvKitCore
import ConvKitCPU
import Testing
import _ConvKitTestSupport

/// Pooling against ``ReferenceBackend/pool(_:input:)``: a grid over every pooling
/// parameter on small-integer data (exact), NaN and −∞ rules, global pooling, and shapes
/// large enough to thread.
@Suite struct CPUPoolingTests {
    static let windows = [Size2D(1), Size2D(2), Size2D(3), Size2D(height: 2, width: 3)]
    static let strides: [Size2D?] = [nil, Size2D(1), Size2D(2), Size2D(height: 1, width: 2)]
    static let paddings: [Padding] = [
        .valid, .same, .sameLower, .explicit(top: 1, bottom: 1, left: 1, right: 1),
        .explicit(top: 0, bottom: 2, left: 1, right: 0),
        // Pads at least the effective window: whole windows of padding on the top and right.
        .explicit(top: 3, bottom: 0, left: 0, right: 4),
    ]
    static let dilations = [Size2D(1), Size2D(2)]
    static let sizes = [TensorShape(1, 2, 7, 9), TensorShape(2, 3, 8, 6)]

    /// Every combination that resolves; countIncludePad only varies for average.
    static func descriptors() -> [(Pool2DDescriptor, TensorShape)] {
        var result: [(Pool2DDescriptor, TensorShape)] = []
        for mode in PoolingMode.allCases {
            for window in windows {
                for stride in strides {
                    for padding in paddings {
                        for ceilMode in [false, true] {
                            for include in mode == .average ? [false, true] : [false] {
                                for dilation in dilations {
                                    for shape in sizes {
                                        let descriptor = Pool2DDescriptor(
                                            mode: mode, window: window, stride: stride, dilation: dilation,
                                            padding: padding, ceilMode: ceilMode, countIncludePad: include)
                                        guard (try? descriptor.resolve(input: shape)) != nil else { continue }
                                        result.append((descriptor, shape))
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        return result
    }

    static func integers(_ shape: TensorShape, seed: UInt64) -> Tensor {
        var generator = SeededGenerator(seed: seed)
        return try! Tensor(shape: shape) { _ in Float(Int.random(in: -9...9, using: &generator)) }
    }

    /// Records the first element that differs bitwise from the rounded reference (NaN
    /// matches any NaN).
    @discardableResult
    static func expectEqual(_ output: Tensor, reference: [Double], _ label: String,
                            sourceLocation: SourceLocation = #_sourceLocation) -> Bool {
        for index in reference.indices {
            let expected = Float(reference[index]), got = output.scalars[index]
            let same = expected.isNaN ? got.isNaN : got.bitPattern == expected.bitPattern
            if !same {
                Issue.record("\(label): first mismatch at flat index \(index) of \(output.shape): got \(got), expected \(expected)",
                             sourceLocation: sourceLocation)
                return false
            }
        }
        return true
    }

    static func reference(_ descriptor: Pool2DDescriptor, _ input: Tensor) throws -> [Double] {
        let geometry = try descriptor.resolve(input: input.shape)
        return input.withUnsafeBufferPointer { ReferenceBackend.pool(geometry, input: $0) }
    }

    @Test("pooling grid equals the reference exactly on integer data")
    func grid() throws {
        let cases = Self.descriptors()
        #expect(cases.count > 1500)
        let backend = CPUBackend(threads: 2)
        var failures = 0
        for (index, (descriptor, shape)) in cases.enumerated() where failures < 5 {
            let input = Self.integers(shape, seed: UInt64(index + 1))
            let output = try backend.pool(input, descriptor: descriptor)
            if !Self.expectEqual(output, reference: try Self.reference(descriptor, input), "\(descriptor) input \(shape)") {
                failures += 1
            }
        }
    }

    @Test("an all-padding window gives −∞ for max and 0 for average excluding padding")
    func allPaddingWindows() throws {
        let input = try Tensor(shape: TensorShape(1, 1, 2, 2), scalars: [1, 2, 3, 4])
        let padding = Padding.explicit(top: 2, bottom: 0, left: 0, right: 0)
        let max = try CPUBackend().pool(input, descriptor: Pool2DDescriptor(mode: .max, window: Size2D(2), padding: padding))
        #expect(max.scalars == [-.infinity, 4])
        let average = try CPUBackend().pool(input, descriptor: Pool2DDescriptor(mode: .average, window: Size2D(2),
                                                                                padding: padding))
        #expect(average.scalars == [0, 2.5])
        let included = try CPUBackend().pool(input, descriptor: Pool2DDescriptor(
            mode: .average, window: Size2D(2), padding: padding, countIncludePad: true))
        #expect(included.scalars == [0, 2.5])
    }

    @Test("a NaN anywhere in a max window gives NaN, on the vector and the scalar path",
          arguments: [Size2D(1), Size2D(2), Size2D(3)])
    func nanPropagates(stride: Size2D) throws {
        // 40 columns: interior 8-lane blocks and scalar edges both see NaNs.
        var input = Self.integers(TensorShape(1, 2, 6, 40), seed: 11)
        for (c, h, w) in [(0, 0, 0), (0, 2, 17), (0, 5, 39), (1, 3, 8), (1, 3, 9)] { input[0, c, h, w] = .nan }
        for padding in [Padding.valid, .same] {
            for global in [false, true] {
                let descriptor = global ? Pool2DDescriptor.global(.max)
                    : Pool2DDescriptor(mode: .max, window: Size2D(3), stride: stride, padding: padding)
                let output = try CPUBackend(threads: 1).pool(input, descriptor: descriptor)
                let reference = try Self.reference(descriptor, input)
                #expect(reference.contains { $0.isNaN })
                Self.expectEqual(output, reference: reference, "NaN \(descriptor)")
            }
        }
    }

    @Test("global max and average reduce each map", arguments: [PoolingMode.max, .average])
    func global(mode: PoolingMode) throws {
        for shape in [TensorShape(2, 3, 7, 9), TensorShape(1, 4, 1, 1), TensorShape(3, 17, 33, 35)] {
            let input = Self.integers(shape, seed: 5)
            for threads in [1, 2] {
                let output = try CPUBackend(threads: threads).pool(input, descriptor: .global(mode))
                #expect(output.shape == TensorShape(shape.batch, shape.channels, 1, 1))
                Self.expectEqual(output, reference: try Self.reference(.global(mode), input),
                                 "global \(mode) \(shape) threads \(threads)")
            }
        }
        let negative = try Tensor(shape: TensorShape(1, 1, 3, 5)) { -Float($0) - 1 }
        #expect(try CPUBackend().pool(negative, descriptor: .global(.max)).scalars == [-1])
    }

    @Test("large maps thread across planes and rows and equal the reference")
    func threaded() throws {
        let shape = TensorShape(2, 6, 57, 61)
        let descriptors = [
            Pool2DDescriptor(mode: .max, window: Size2D(3), stride: Size2D(1), padding: .same),
            Pool2DDescriptor(mode: .max, window: Size2D(3), stride: Size2D(2), padding: .same, ceilMode: true),
            Pool2DDescriptor(mode: .average, window: Size2D(3), stride: Size2D(2), padding: .same, countIncludePad: true),
            Pool2DDescriptor(mode: .average, window: Size2D(height: 2, width: 3), stride: Size2D(1),
                             dilation: Size2D(2), padding: .explicit(top: 1, bottom: 0, left: 2, right: 1)),
            Pool2DDescriptor(mode: .max, window: Size2D(3), stride: Size2D(3), padding: .valid, ceilMode: true),
        ]
        let input = Self.integers(shape, seed: 9)
        for descriptor in descriptors {
            let reference = try Self.reference(descriptor, input)
            for threads in [1, 2] {
                let output = try CPUBackend(threads: threads).pool(input, descriptor: descriptor)
                Self.expectEqual(output, reference: reference, "\(descriptor) threads \(threads)")
            }
        }
    }

    @Test("average of random floats stays within the window's float32 rounding")
    func randomAverage() throws {
        var generator = SeededGenerator(seed: 21)
        let input = try Tensor(shape: TensorShape(1, 3, 20, 37)) { _ in Float.random(in: -1..<1, using: &generator) }
        let descriptor = Pool2DDescriptor(mode: .average, window: Size2D(3), stride: Size2D(1), padding: .same)
        let output = try CPUBackend().pool(input, descriptor: descriptor)
        let reference = try Self.reference(descriptor, input)
        for index in reference.indices {
            // 9 float32 additions of values ≤ 1 err by ≤ 9·2⁻²⁴ each; the mean divides that by ≥ 4.
            #expect(abs(Double(output.scalars[index]) - reference[index]) <= 9 * Agreement.epsilon,
                    "index \(index): got \(output.scalars[index]), reference \(reference[index])")
        }
    }

    @Test("a wrongly sized buffer is a typed error")
    func bufferSizes() throws {
        let geometry = try Pool2DDescriptor(mode: .max, window: Size2D(2)).resolve(input: TensorShape(1, 1, 4, 4))
        let input = [Float](repeating: 0, count: 16)
        var output = [Float](repeating: 0, count: 3)
        #expect(throws: ConvolutionError.bufferSizeMismatch(parameter: "output", expected: 4, actual: 3)) {
            try input.withUnsafeBufferPointer { x in
                try output.withUnsafeMutableBufferPointer { try CPUBackend().executePool(geometry, input: x, output: $0) }
            }
        }
    }
}
