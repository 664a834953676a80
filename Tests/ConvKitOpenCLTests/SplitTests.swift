import ConvKitCore
@testable import ConvKitOpenCL
import Testing
import _ConvKitTestSupport

/// Host-buffer convolutions larger than one device allocation are split over batch or
/// output channels instead of failing; a synthetic small `maxAllocationBytes` makes them.
@Suite("OpenCL allocation splits")
struct SplitTests {
    /// 4×4×10×10 → 8 filters 3×3 same: 400 input and 800 output floats per image, 288 weights.
    static func problem(bias: Bool, batch: Int = 4, groups: Int = 1) throws -> Problem {
        var generator = SeededGenerator(seed: 17)
        return try Problem(input: TensorShape(batch, 4, 10, 10), filters: 8, kernel: Size2D(3),
                           descriptor: Conv2DDescriptor(padding: .same, groups: groups, activation: .relu), bias: bias,
                           generator: &generator, value: Problem.smallInteger)
    }

    @Test("split over batch or output channels: same bits as one call, one transfer set per call",
          .enabled(if: TestDevice.shouldRun, TestDevice.skipReason),
          // 6400 B: 2 images per call; 2400 B: channels 6 + 2 per image; 1600 B: 4 + 4 per image.
          arguments: [(6400, 2, false), (6400, 2, true), (2400, 8, true), (1600, 8, false)])
    func split(limitBytes: Int, calls: Int, bias: Bool) throws {
        guard requireDevice() else { return }
        let whole = try TestDevice.backend()
        let problem = try Self.problem(bias: bias)
        let expected = try problem.run(on: whole)
        expectExact(expected, problem.reference().values, "unsplit vs reference")

        var small = whole
        small.deviceInfo.maxAllocationBytes = UInt64(limitBytes)
        #expect(small.residentSupport(for: problem.geometry) != .supported)
        #expect(small.support(for: problem.geometry) == .supported)
        let split = try #require(small.splitPlan(for: problem.geometry))
        #expect(split.calls == calls, "\(split)")
        let before = small.transferStatistics
        let output = try problem.run(on: small)
        expectIdentical(output, expected, "split into \(split.calls) calls (\(split.axis))")
        #expect(small.transferStatistics - before
                == OpenCLTransferStatistics(activationUploads: calls, parameterUploads: calls * (bias ? 2 : 1), downloads: calls))
    }

    @Test("a layer whose filters fit but whose 16-filter repack does not is split, with the same bits",
          .enabled(if: TestDevice.shouldRun, TestDevice.skipReason), arguments: [Size2D(1), Size2D(3)])
    func repackSplit(kernel: Size2D) throws {
        guard requireDevice() else { return }
        let whole = try TestDevice.backend()
        try #require(whole.deviceInfo.kind == .cpu, "the repack is the CPU candidates'")
        var generator = SeededGenerator(seed: 23)
        // 1×1: 20 filters × 30 channels = 600 weights, the repack pads to 32 × 30 = 960.
        // 3×3: 20 filters × 4 channels × 9 = 720 weights, the repack 32 × 36 = 1152.
        let channels = kernel == Size2D(1) ? 30 : 4
        let problem = try Problem(input: TensorShape(1, channels, 5, 5), filters: 20, kernel: kernel,
                                  descriptor: Conv2DDescriptor(padding: .same), bias: true, generator: &generator,
                                  value: Problem.smallInteger)
        var small = whole
        small.deviceInfo.maxAllocationBytes = 3200  // 800 floats: every buffer but the repack fits
        #expect(small.residentSupport(for: problem.geometry) != .supported, "the repack must count as a buffer")
        let split = try #require(small.splitPlan(for: problem.geometry))
        #expect(split.calls == 2, "16 filters, then 4: \(split)")
        expectExact(try problem.run(on: small), problem.reference().values, "split \(kernel) vs reference")
    }

    @Test("no split: chains and device tensors need whole buffers; grouped or oversized images stay unsupported",
          .enabled(if: TestDevice.shouldRun, TestDevice.skipReason))
    func unsplittable() throws {
        guard requireDevice() else { return }
        var small = try TestDevice.backend()
        small.deviceInfo.maxAllocationBytes = 2400
        let problem = try Self.problem(bias: false)
        let weights = try Tensor(shape: problem.geometry.filter, scalars: problem.weights)
        let plan = try LayerChainPlan([.conv(Conv2DDescriptor(padding: .same), weights)], input: problem.geometry.input)
        #expect(throws: BackendError.self) { try small.prepare(plan) }
        let x = try small.upload(try Tensor(shape: problem.geometry.input, scalars: problem.input))
        let w = try small.upload(weights, as: .parameters)
        #expect(throws: BackendError.self) { try small.convolve(x, weights: w, descriptor: Conv2DDescriptor(padding: .same)) }

        // Output channels of a grouped convolution are not split.
        let grouped = try Self.problem(bias: false, groups: 2)
        #expect(small.splitPlan(for: grouped.geometry) == nil)
        #expect(small.support(for: grouped.geometry) != .supported)
        // One image's input beyond the limit cannot be split at all.
        small.deviceInfo.maxAllocationBytes = 1000
        #expect(small.splitPlan(for: problem.geometry) == nil)
        #expect(small.support(for: problem.geometry) != .supported)
    }
}
