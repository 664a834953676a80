import ConvKitCore
@testable import ConvKitOpenCL
import Dispatch
import Foundation
import Testing
import _ConvKitTestSupport

/// Device-resident layer chains: the same numbers as running the steps one by one, with
/// exactly one activation upload and one download per run.
@Suite("OpenCL layer chains")
struct LayerChainTests {
    /// conv(3→8, 3×3 same, bias, relu) → maxpool 2×2 (ceil) → conv(8→4, 3×3 valid, bias).
    static func steps(_ generator: inout SeededGenerator) throws -> [LayerStep] {
        let first = try Tensor(shape: TensorShape(8, 3, 3, 3)) { _ in Problem.smallInteger(&generator) }
        let second = try Tensor(shape: TensorShape(4, 8, 3, 3)) { _ in Problem.smallInteger(&generator) }
        return [
            .conv(Conv2DDescriptor(padding: .same), first, (0..<8).map { _ in Problem.smallInteger(&generator) }, .relu),
            .maxPool(Pool2DDescriptor(mode: .max, window: Size2D(2), ceilMode: true)),
            .conv(Conv2DDescriptor(), second, (0..<4).map { _ in Problem.smallInteger(&generator) }),
        ]
    }

    @Test("conv → relu → maxpool → conv equals the steps one by one; 1 upload, 1 download per run",
          .enabled(if: TestDevice.shouldRun, TestDevice.skipReason), arguments: [KernelChoice.direct, .tiled, .igemm])
    func chain(kernel: KernelChoice) throws {
        guard requireDevice() else { return }
        let backend = try TestDevice.backend(kernel)
        var generator = SeededGenerator(seed: 2024)
        let steps = try Self.steps(&generator)
        let shape = TensorShape(2, 3, 12, 13)
        let plan = try LayerChainPlan(steps, input: shape)

        let beforePrepare = backend.transferStatistics
        let chain = try backend.prepare(plan)
        #expect(chain is OpenCLLayerChain)
        #expect(backend.transferStatistics - beforePrepare == OpenCLTransferStatistics(parameterUploads: 4),
                "two weights and two biases, uploaded once")

        for run in 0..<3 {
            let input = try Tensor(shape: shape) { _ in Problem.smallInteger(&generator) }
            let beforeRun = backend.transferStatistics
            let output = try chain.run(input)
            #expect(backend.transferStatistics - beforeRun == OpenCLTransferStatistics(activationUploads: 1, downloads: 1),
                    "run \(run)")

            // The same steps one by one through the host, on the same backend and on the reference.
            var stepwise = input
            for step in steps {
                switch step {
                case let .conv(descriptor, weights, bias):
                    stepwise = try backend.convolve(stepwise, weights: weights, bias: bias, descriptor: descriptor)
                case let .pool(descriptor):
                    stepwise = try backend.pool(stepwise, descriptor: descriptor)
                }
            }
            #expect(output.shape == plan.output && output.shape == TensorShape(2, 4, 4, 5))
            expectIdentical(output.scalars, stepwise.scalars, "chain vs step by step, run \(run)")
            expectIdentical(output.scalars, try ReferenceBackend().run(steps, input: input).scalars, "chain vs reference")
        }
    }

    @Test("1×1 steps whose filters are repacked once at preparation give the reference's values run after run",
          .enabled(if: TestDevice.shouldRun, TestDevice.skipReason))
    func packedFilterChain() throws {
        guard requireDevice() else { return }
        let backend = try TestDevice.backend()
        var generator = SeededGenerator(seed: 91)
        let first = try Tensor(shape: TensorShape(20, 8, 1, 1)) { _ in Problem.smallInteger(&generator) }
        let second = try Tensor(shape: TensorShape(12, 20, 1, 1)) { _ in Problem.smallInteger(&generator) }
        let steps: [LayerStep] = [
            .conv(Conv2DDescriptor(), first, (0..<20).map { _ in Problem.smallInteger(&generator) }, .relu),
            .conv(Conv2DDescriptor(stride: Size2D(2)), second),
        ]
        let shape = TensorShape(1, 8, 9, 10)
        let plan = try LayerChainPlan(steps, input: shape)
        for case let .conv(geometry, _, _) in plan.steps {
            #expect(backend.configuration(for: geometry).readsPackedFilters,
                    "the test is meant for the repacked-filter path: \(backend.configuration(for: geometry))")
        }
        let chain = try backend.prepare(plan)
        for run in 0..<3 {
            let input = try Tensor(shape: shape) { _ in Problem.smallInteger(&generator) }
            expectIdentical(try chain.run(input).scalars, try ReferenceBackend().run(steps, input: input).scalars,
                            "chain vs reference, run \(run)")
        }
    }

    @Test("3×3 steps on igemm's packed filters (row and pair kernels, a partial filter block) give the reference's values; buffer runs equal tensor runs",
          .enabled(if: TestDevice.shouldRun, TestDevice.skipReason))
    func packedIGEMMChain() throws {
        guard requireDevice() else { return }
        let backend = try TestDevice.backend()
        var generator = SeededGenerator(seed: 303)
        let first = try Tensor(shape: TensorShape(20, 8, 3, 3)) { _ in Problem.smallInteger(&generator) }
        let second = try Tensor(shape: TensorShape(12, 20, 3, 3)) { _ in Problem.smallInteger(&generator) }
        let steps: [LayerStep] = [
            .conv(Conv2DDescriptor(padding: .same), first, (0..<20).map { _ in Problem.smallInteger(&generator) }, .relu),
            .conv(Conv2DDescriptor(stride: Size2D(2), padding: .same), second),
        ]
        let shape = TensorShape(2, 8, 9, 10)
        let plan = try LayerChainPlan(steps, input: shape)
        var pairs = 0
        for case let .conv(geometry, _, _) in plan.steps {
            let configuration = backend.configuration(for: geometry)
            #expect(configuration.file == .igemm && configuration.readsPackedFilters,
                    "the test is meant for igemm's packed filters: \(configuration)")
            if configuration.pairsRows(geometry) { pairs += 1 }
        }
        #expect(pairs == (backend.deviceInfo.kind == .cpu ? 1 : 0), "the 5-wide second step runs the pair kernel on CPUs")
        // Both host paths: the caller's buffers bound in place (host-unified devices) and
        // copies into and out of the chain's own buffers (discrete GPUs).
        var chain = try backend.prepare(plan)
        for copies in [backend.copiesHostArrays, !backend.copiesHostArrays] {
            var variant = backend
            variant.copiesHostArrays = copies
            chain = try variant.prepare(plan)
            for run in 0..<2 {
                let input = try Tensor(shape: shape) { _ in Problem.smallInteger(&generator) }
                let expected = try ReferenceBackend().run(steps, input: input).scalars
                let before = variant.transferStatistics
                expectIdentical(try chain.run(input).scalars, expected, "tensor run \(run) vs reference, copies \(copies)")
                #expect(variant.transferStatistics - before == OpenCLTransferStatistics(activationUploads: 1, downloads: 1))
                var output = [Float](repeating: .nan, count: plan.output.elementCount)
                try input.withUnsafeBufferPointer { x in
                    try output.withUnsafeMutableBufferPointer { y in try chain.run(x, into: y) }
                }
                expectIdentical(output, expected, "buffer run \(run) vs reference, copies \(copies)")
            }
        }
        var short = [Float](repeating: 0, count: plan.output.elementCount - 1)
        let input = [Float](repeating: 1, count: shape.elementCount)
        #expect(throws: ConvolutionError.bufferSizeMismatch(parameter: "chain output", expected: plan.output.elementCount,
                                                            actual: short.count)) {
            try input.withUnsafeBufferPointer { x in
                try short.withUnsafeMutableBufferPointer { y in try chain.run(x, into: y) }
            }
        }
    }

    @Test("a chain rejects a wrong input shape, and many threads may share it",
          .enabled(if: TestDevice.shouldRun, TestDevice.skipReason))
    func sharedChain() throws {
        guard requireDevice() else { return }
        let backend = try TestDevice.backend()
        var generator = SeededGenerator(seed: 77)
        let steps = try Self.steps(&generator) + [.averagePool(.global(.average))]
        let shape = TensorShape(1, 3, 9, 10)
        let chain = try backend.prepare(try LayerChainPlan(steps, input: shape))
        #expect(throws: ConvolutionError.self) { _ = try chain.run(try Tensor(zeros: TensorShape(1, 3, 9, 11))) }

        let inputs = try (0..<4).map { _ in try Tensor(shape: shape) { _ in Problem.smallInteger(&generator) } }
        let expected = try inputs.map { try ReferenceBackend().run(steps, input: $0).scalars }
        let before = backend.transferStatistics
        let mismatches = Mismatches()
        DispatchQueue.concurrentPerform(iterations: 16) { iteration in
            let index = iteration % inputs.count
            let output = try? chain.run(inputs[index])
            if output?.scalars != expected[index] { mismatches.add(iteration) }
        }
        #expect(mismatches.list.isEmpty, "iterations with wrong results: \(mismatches.list)")
        #expect(backend.transferStatistics - before == OpenCLTransferStatistics(activationUploads: 16, downloads: 16))
    }
}

private final class Mismatches: @unchecked Sendable {
    private let lock = NSLock()
    private var values: [Int] = []
    func add(_ value: Int) { lock.withLock { values.append(value) } }
    var list: [Int] { lock.withLock { values } }
}
