import ConvKitCore
@testable import ConvKitOpenCL
import Testing
import _ConvKitTestSupport

/// Pooling on the device against `ReferenceBackend.pool`, the float64 oracle.
///
/// Small-integer data makes every float32 sum exact and each average one correctly
/// rounded division, so the device must equal the reference rounded once, bit for bit.
@Suite("OpenCL pooling against the reference")
struct PoolingTests {
    static let windows = [Size2D(1), Size2D(2), Size2D(3), Size2D(height: 2, width: 3)]
    static let strides: [Size2D?] = [nil, Size2D(1), Size2D(2), Size2D(height: 1, width: 2)]
    /// valid, same, sameLower, explicit symmetric and asymmetric, and pads reaching past
    /// every effective window (top 5, right 6), which makes windows of padding only.
    static let paddings: [Padding] = [.valid, .same, .sameLower, .symmetric(height: 1, width: 1),
                                      .explicit(top: 0, bottom: 2, left: 1, right: 0),
                                      .explicit(top: 5, bottom: 0, left: 2, right: 6)]
    static let dilations = [Size2D(1), Size2D(2)]
    static let sizes = [Size2D(height: 7, width: 9), Size2D(height: 8, width: 6)]

    @Test("small-integer grid matches exactly", .enabled(if: TestDevice.shouldRun, TestDevice.skipReason),
          arguments: PoolingMode.allCases, paddings)
    func grid(mode: PoolingMode, padding: Padding) throws {
        guard requireDevice() else { return }
        let backend = try TestDevice.backend()
        var generator = SeededGenerator(seed: "\(mode) \(padding)".utf8.reduce(0xB00C) { $0 &* 31 &+ UInt64($1) })
        var cases = 0, allPaddingWindows = 0
        for window in Self.windows {
            for stride in Self.strides {
                for dilation in Self.dilations {
                    for ceilMode in [false, true] {
                        for countIncludePad in mode == .average ? [false, true] : [false] {
                            for size in Self.sizes {
                                let descriptor = Pool2DDescriptor(mode: mode, window: window, stride: stride,
                                                                  dilation: dilation, padding: padding,
                                                                  ceilMode: ceilMode, countIncludePad: countIncludePad)
                                let shape = TensorShape(1 + cases % 2, 3, size.height, size.width)
                                guard let geometry = try? descriptor.resolve(input: shape) else { continue }
                                let input = (0..<shape.elementCount).map { _ in Problem.smallInteger(&generator) }
                                let expected = Self.reference(geometry, input)
                                let output = try Self.run(geometry, input, on: backend)
                                expectIdentical(output, expected, "\(descriptor) on \(shape)")
                                allPaddingWindows += expected.count { $0 == -.infinity || ($0 == 0 && mode == .average) }
                                cases += 1
                            }
                        }
                    }
                }
            }
        }
        #expect(cases > 50)
        if case .explicit(top: 5, _, _, _) = padding { #expect(allPaddingWindows > 0, "some windows hold only padding") }
    }

    @Test("a NaN in the window gives NaN for max and average; ±∞ propagate",
          .enabled(if: TestDevice.shouldRun, TestDevice.skipReason), arguments: PoolingMode.allCases)
    func nanPropagates(mode: PoolingMode) throws {
        guard requireDevice() else { return }
        let backend = try TestDevice.backend()
        let shape = TensorShape(1, 2, 6, 7)
        var input = (0..<shape.elementCount).map { Float($0 % 5) - 2 }
        input[3] = .nan                 // plane 0, row 0
        input[2 * 7 + 5] = .infinity    // plane 0, row 2
        input[42 + 4 * 7 + 1] = -.infinity
        input[42 + 5 * 7 + 6] = .nan    // plane 1, last cell: only the ceil-mode window sees it
        for descriptor in [Pool2DDescriptor(mode: mode, window: Size2D(2)),
                           Pool2DDescriptor(mode: mode, window: Size2D(3), stride: Size2D(2), padding: .same, ceilMode: true),
                           Pool2DDescriptor(mode: mode, window: Size2D(2), stride: Size2D(2), ceilMode: true),
                           Pool2DDescriptor.global(mode)] {
            let geometry = try descriptor.resolve(input: shape)
            let expected = Self.reference(geometry, input)
            #expect(expected.contains { $0.isNaN })
            expectIdentical(try Self.run(geometry, input, on: backend), expected, "\(descriptor)")
        }
    }

    @Test("global pooling: one work-group per plane, exact on small integers",
          .enabled(if: TestDevice.shouldRun, TestDevice.skipReason))
    func global() throws {
        guard requireDevice() else { return }
        let backend = try TestDevice.backend()
        var generator = SeededGenerator(seed: 99)
        for shape in [TensorShape(2, 3, 7, 9), TensorShape(1, 2, 1, 1), TensorShape(3, 1, 33, 47), TensorShape(1, 5, 8, 8)] {
            for mode in PoolingMode.allCases {
                let geometry = try Pool2DDescriptor.global(mode).resolve(input: shape)
                #expect(backend.poolConfiguration.launch(forPool: geometry).entryPoint == "global_pool2d")
                let input = (0..<shape.elementCount).map { _ in Problem.smallInteger(&generator) }
                expectIdentical(try Self.run(geometry, input, on: backend), Self.reference(geometry, input),
                                "global \(mode) \(shape)")
            }
        }
        // A whole-map window with padding is not global: pool2d runs it.
        let padded = try Pool2DDescriptor(mode: .average, window: Size2D(height: 4, width: 5), padding: .symmetric(height: 1, width: 0))
            .resolve(input: TensorShape(1, 2, 4, 5))
        #expect(backend.poolConfiguration.launch(forPool: padded).entryPoint == "pool2d")
    }

    @Test("random floats: max exact, average within a few ulps of the float64 mean",
          .enabled(if: TestDevice.shouldRun, TestDevice.skipReason))
    func randomFloats() throws {
        guard requireDevice() else { return }
        let backend = try TestDevice.backend()
        var generator = SeededGenerator(seed: 5)
        let shape = TensorShape(2, 4, 19, 23)
        let input = (0..<shape.elementCount).map { _ in Problem.uniform(&generator) }
        for descriptor in [Pool2DDescriptor(mode: .max, window: Size2D(3), stride: Size2D(2), padding: .same),
                           Pool2DDescriptor(mode: .average, window: Size2D(3), stride: Size2D(1), padding: .same),
                           Pool2DDescriptor(mode: .average, window: Size2D(height: 2, width: 3), ceilMode: true,
                                            countIncludePad: true),
                           Pool2DDescriptor.global(.average)] {
            let geometry = try descriptor.resolve(input: shape)
            let output = try Self.run(geometry, input, on: backend)
            let reference = input.withUnsafeBufferPointer { ReferenceBackend.pool(geometry, input: $0) }
            if descriptor.mode == .max {
                expectIdentical(output, reference.map { Float($0) }, "\(descriptor)")
            } else {
                // n float32 additions err by at most n·ε relative to Σ|x|; |x| < 1 bounds Σ|x| by n.
                let cells = Double(descriptor.window.map { $0.height * $0.width } ?? shape.height * shape.width)
                let worst = zip(output, reference).map { abs(Double($0) - $1) }.max() ?? 0
                #expect(worst <= (cells + 2) * Agreement.epsilon, "\(descriptor): worst error \(worst)")
            }
        }
    }

    @Test("each pooling call counts one activation upload and one download",
          .enabled(if: TestDevice.shouldRun, TestDevice.skipReason))
    func transfersCounted() throws {
        guard requireDevice() else { return }
        let backend = try TestDevice.backend()
        let before = backend.transferStatistics
        _ = try backend.pool(try Tensor(zeros: TensorShape(1, 2, 5, 5)), descriptor: Pool2DDescriptor(mode: .max, window: Size2D(2)))
        #expect(backend.transferStatistics - before == OpenCLTransferStatistics(activationUploads: 1, downloads: 1))
    }

    static func reference(_ geometry: PoolGeometry, _ input: [Float]) -> [Float] {
        input.withUnsafeBufferPointer { ReferenceBackend.pool(geometry, input: $0) }.map { Float($0) }
    }

    static func run(_ geometry: PoolGeometry, _ input: [Float], on backend: OpenCLBackend) throws -> [Float] {
        var output = [Float](repeating: 12345, count: geometry.output.elementCount)
        try input.withUnsafeBufferPointer { x in
            try output.withUnsafeMutableBufferPointer { y in try backend.executePool(geometry, input: x, output: y) }
        }
        return output
    }
}
