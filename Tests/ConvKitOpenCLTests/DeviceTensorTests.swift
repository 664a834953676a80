import COpenCL
import ConvKitCore
@testable import ConvKitOpenCL
import Dispatch
import Foundation
import Testing
import _ConvKitTestSupport

/// Device-resident tensors: round trips, chained non-blocking operations, typed errors
/// and per-command profiling.
@Suite("OpenCL device tensors")
struct DeviceTensorTests {
    static func integers(_ shape: TensorShape, _ generator: inout SeededGenerator) throws -> Tensor {
        try Tensor(shape: shape) { _ in Problem.smallInteger(&generator) }
    }

    @Test("upload → download returns the same bits; one activation upload, one download",
          .enabled(if: TestDevice.shouldRun, TestDevice.skipReason))
    func roundTrip() throws {
        guard requireDevice() else { return }
        let backend = try TestDevice.backend()
        var generator = SeededGenerator(seed: 7)
        let tensor = try Tensor(shape: TensorShape(2, 3, 5, 7)) { _ in Problem.uniform(&generator) }
        let before = backend.transferStatistics
        let device = try backend.upload(tensor)
        #expect(device.shape == tensor.shape)
        #expect(device.isReady, "uploads block")
        let back = try device.download()
        #expect(backend.transferStatistics - before == OpenCLTransferStatistics(activationUploads: 1, downloads: 1))
        expectIdentical(back.scalars, tensor.scalars, "round trip")

        let parameters = try backend.upload(tensor, as: .parameters)
        let bias = try backend.upload(bias: [1, 2, 3])
        #expect(bias.shape == TensorShape(1, 3, 1, 1))
        #expect(backend.transferStatistics - before == OpenCLTransferStatistics(activationUploads: 1, parameterUploads: 2,
                                                                                downloads: 1))
        _ = parameters
    }

    /// conv(3→8, 3×3 same, bias, relu) → maxpool 2×2 (ceil) → conv(8→4, 3×3 valid, bias).
    static let first = Conv2DDescriptor(padding: .same, activation: .relu)
    static let pooling = Pool2DDescriptor(mode: .max, window: Size2D(2), ceilMode: true)
    static let second = Conv2DDescriptor()

    @Test("conv → pool → conv on device tensors equals the host path bit for bit; 1 activation upload, 1 download",
          .enabled(if: TestDevice.shouldRun, TestDevice.skipReason), arguments: [KernelChoice.direct, .tiled])
    func chain(kernel: KernelChoice) throws {
        guard requireDevice() else { return }
        let backend = try TestDevice.backend(kernel)
        var generator = SeededGenerator(seed: 99)
        let w1 = try Self.integers(TensorShape(8, 3, 3, 3), &generator)
        let b1 = (0..<8).map { _ in Problem.smallInteger(&generator) }
        let w2 = try Self.integers(TensorShape(4, 8, 3, 3), &generator)
        let b2 = (0..<4).map { _ in Problem.smallInteger(&generator) }
        let input = try Self.integers(TensorShape(2, 3, 12, 13), &generator)

        let stream = try backend.makeStream()
        let beforeParameters = backend.transferStatistics
        let dw1 = try backend.upload(w1, as: .parameters, on: stream), db1 = try backend.upload(bias: b1, on: stream)
        let dw2 = try backend.upload(w2, as: .parameters, on: stream), db2 = try backend.upload(bias: b2, on: stream)
        #expect(backend.transferStatistics - beforeParameters == OpenCLTransferStatistics(parameterUploads: 4))

        let before = backend.transferStatistics
        let x = try backend.upload(input, on: stream)
        let y1 = try backend.convolve(x, weights: dw1, bias: db1, descriptor: Self.first)
        let y2 = try backend.pool(y1, descriptor: Self.pooling)
        let y3 = try backend.convolve(y2, weights: dw2, bias: db2, descriptor: Self.second)
        #expect(y3.shape == TensorShape(2, 4, 4, 5))
        let output = try y3.download()
        #expect(backend.transferStatistics - before == OpenCLTransferStatistics(activationUploads: 1, downloads: 1))

        var host = try backend.convolve(input, weights: w1, bias: b1, descriptor: Self.first)
        host = try backend.pool(host, descriptor: Self.pooling)
        host = try backend.convolve(host, weights: w2, bias: b2, descriptor: Self.second)
        expectIdentical(output.scalars, host.scalars, "device tensors vs host path (\(kernel))")
        let steps: [LayerStep] = [.conv(Self.first, w1, b1, .relu), .maxPool(Self.pooling), .conv(Self.second, w2, b2)]
        expectIdentical(output.scalars, try ReferenceBackend().run(steps, input: input).scalars, "vs reference")
    }

    @Test("operations return without waiting; intermediates may be dropped; results are right after download",
          .enabled(if: TestDevice.shouldRun, TestDevice.skipReason))
    func nonBlocking() throws {
        guard requireDevice() else { return }
        let backend = try TestDevice.backend()
        var generator = SeededGenerator(seed: 5)
        let input = try Self.integers(TensorShape(1, 16, 48, 48), &generator)
        let weights = try Self.integers(TensorShape(16, 16, 3, 3), &generator)
        let descriptor = Conv2DDescriptor(padding: .same)
        // Build the programs first so that enqueueing measures no compilation.
        _ = try backend.convolve(input, weights: weights, descriptor: descriptor)

        let stream = try backend.makeStream()
        let w = try backend.upload(weights, as: .parameters, on: stream)
        var current = try backend.upload(input, on: stream)
        let start = DispatchTime.now().uptimeNanoseconds
        for _ in 0..<4 { current = try backend.convolve(current, weights: w, descriptor: descriptor) }
        let enqueued = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
        let readyAtReturn = current.isReady  // allowed to be either; recorded for the log
        try current.wait()
        let finished = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
        #expect(current.isReady)
        let output = try current.download()

        var host = input
        for _ in 0..<4 { host = try backend.convolve(host, weights: weights, descriptor: descriptor) }
        // Four layers of small integers outgrow float32's exact range, so compare with the host
        // path on the same backend: the same kernels in the same order give the same bits.
        // Each reassignment of `current` drops a tensor whose readers may still be queued.
        expectIdentical(output.scalars, host.scalars, "4 chained non-blocking convolutions")
        print("enqueue 4 convs: \(enqueued) ms, ready at return: \(readyAtReturn), complete after \(finished) ms")
    }

    @Test("operations wait on events of tensors from another stream",
          .enabled(if: TestDevice.shouldRun, TestDevice.skipReason))
    func crossStream() throws {
        guard requireDevice() else { return }
        let backend = try TestDevice.backend()
        var generator = SeededGenerator(seed: 11)
        let input = try Self.integers(TensorShape(1, 4, 10, 10), &generator)
        let weights = try Self.integers(TensorShape(6, 4, 3, 3), &generator)
        let a = try backend.makeStream(), b = try backend.makeStream()
        // The weights come out of a kernel on stream b (a 1×1 max pool copies them), so
        // the convolution on stream a must wait for b's event.
        let staged = try backend.upload(weights, as: .parameters, on: b)
        let copied = try backend.pool(staged, descriptor: Pool2DDescriptor(mode: .max, window: Size2D(1)))
        #expect(copied.stream === b)
        let x = try backend.upload(input, on: a)
        let y = try backend.convolve(x, weights: copied, descriptor: Conv2DDescriptor())
        #expect(y.stream === a)
        let host = try backend.convolve(input, weights: weights, descriptor: Conv2DDescriptor())
        expectIdentical(try y.download().scalars, host.scalars, "cross-stream")
    }

    @Test("wrong shapes throw ConvolutionError; tensors of another context throw DeviceTensorError",
          .enabled(if: TestDevice.shouldRun, TestDevice.skipReason))
    func errors() throws {
        guard requireDevice() else { return }
        let backend = try TestDevice.backend()
        let x = try backend.upload(try Tensor(zeros: TensorShape(1, 3, 8, 8)))
        let wrongChannels = try backend.upload(try Tensor(zeros: TensorShape(4, 2, 3, 3)), as: .parameters)
        #expect(throws: ConvolutionError.self) {
            try backend.convolve(x, weights: wrongChannels, descriptor: Conv2DDescriptor())
        }
        let weights = try backend.upload(try Tensor(zeros: TensorShape(4, 3, 3, 3)), as: .parameters)
        let wrongBias = try backend.upload(bias: [1, 2, 3])
        #expect(throws: ConvolutionError.self) {
            try backend.convolve(x, weights: weights, bias: wrongBias, descriptor: Conv2DDescriptor())
        }
        #expect(throws: ConvolutionError.self) {
            try backend.pool(x, descriptor: Pool2DDescriptor(mode: .max, window: Size2D(9)))
        }

        // Another OpenCL context on the same device stands in for another device.
        let foreign = try OpenCLDeviceContext(device: backend.context.device, info: backend.deviceInfo)
        let foreignStream = try OpenCLStream(on: foreign, profiling: false)
        var status: cl_int = 0
        let buffer = try #require(clCreateBuffer(foreign.context, cl_mem_flags(CL_MEM_READ_WRITE), 4 * 4 * 27, nil, &status))
        let foreignWeights = DeviceTensor(shape: TensorShape(4, 3, 3, 3), stream: foreignStream, buffer: buffer, event: nil,
                                          counter: backend.transferCounter)
        #expect {
            try backend.convolve(x, weights: foreignWeights, descriptor: Conv2DDescriptor())
        } throws: { error in
            guard case let .foreignDevice(parameter, _, _) = error as? DeviceTensorError else { return false }
            return parameter == "weights"
        }
        #expect(throws: DeviceTensorError.self) { try backend.upload(try Tensor(zeros: TensorShape(1, 1, 1, 1)), on: foreignStream) }
        #expect(throws: DeviceTensorError.profilingDisabled) { try backend.defaultStream().takeProfile() }
    }

    @Test("profiling: non-negative upload, kernel and download times that add up to at most the wall time",
          .enabled(if: TestDevice.shouldRun, TestDevice.skipReason))
    func profiling() throws {
        guard requireDevice() else { return }
        let backend = try TestDevice.backend()
        var generator = SeededGenerator(seed: 3)
        let problem = try Problem(input: TensorShape(2, 8, 20, 20), filters: 16, kernel: Size2D(3),
                                  descriptor: Conv2DDescriptor(padding: .same), bias: true, generator: &generator,
                                  value: Problem.smallInteger)
        let expected = try problem.run(on: backend)
        // The convolution, after its filter repack where the kernel reads packed filters.
        let expectedKernels = backend.configuration(for: problem.geometry).readsPackedFilters ? 2 : 1
        var output = [Float](repeating: .nan, count: problem.geometry.output.elementCount)
        let before = backend.transferStatistics
        let start = DispatchTime.now().uptimeNanoseconds
        let profile = try problem.input.withUnsafeBufferPointer { x in
            try problem.weights.withUnsafeBufferPointer { w in
                try problem.bias!.withUnsafeBufferPointer { b in
                    try output.withUnsafeMutableBufferPointer { y in
                        try backend.profile(problem.geometry, input: x, weights: w, bias: b, output: y)
                    }
                }
            }
        }
        let wall = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
        #expect(backend.transferStatistics - before
                == OpenCLTransferStatistics(activationUploads: 1, parameterUploads: 2, downloads: 1))
        expectIdentical(output, expected, "profiled call vs execute")
        #expect(profile.uploadCount == 3 && profile.kernelCount == expectedKernels && profile.downloadCount == 1, "\(profile)")
        #expect(profile.uploadMilliseconds >= 0 && profile.kernelMilliseconds > 0 && profile.downloadMilliseconds >= 0)
        #expect(profile.totalMilliseconds <= wall, "\(profile) within \(wall) ms")
        #expect(profile.totalMilliseconds <= profile.spanMilliseconds + 1e-6)
        for command in profile.commands { #expect(command.queued <= command.start && command.start <= command.end) }

        // A profiling stream records a whole device-tensor chain, and forgets it once taken.
        let stream = try backend.makeStream(profiling: true)
        let x = try backend.upload(try Tensor(shape: problem.geometry.input, scalars: problem.input), on: stream)
        let w = try backend.upload(try Tensor(shape: problem.geometry.filter, scalars: problem.weights), as: .parameters,
                                   on: stream)
        let y = try backend.pool(try backend.convolve(x, weights: w, descriptor: Conv2DDescriptor(padding: .same)),
                                 descriptor: .global(.average))
        _ = try y.download()
        let chain = try stream.takeProfile()
        #expect(chain.uploadCount == 2 && chain.kernelCount == expectedKernels + 1 && chain.downloadCount == 1, "\(chain)")
        #expect(try stream.takeProfile().commands.isEmpty)
    }
}
