import COpenCL
import ConvKitCore
import Foundation

extension OpenCLBackend {
    /// Prepares `plan` to run on the device with its data kept there.
    ///
    /// Builds the programs, uploads every weight and bias once (counted as parameter
    /// uploads), allocates the device input buffer and two ping-pong buffers sized for
    /// the largest step output, sets every kernel's arguments and runs the weight steps
    /// (gemm1x1's filter repack) once. Each
    /// ``PreparedLayerChain/run(_:)`` then makes exactly one activation upload and one
    /// download, with all kernels on one in-order queue.
    ///
    /// - Parameter plan: From ``LayerChainPlan/init(_:input:)``.
    /// - Throws: ``BackendError/unsupported(backend:reason:)`` for a step beyond the
    ///   device's limits; ``OpenCLError`` when a build, allocation or upload fails.
    public func prepare(_ plan: LayerChainPlan) throws -> any PreparedLayerChain {
        try OpenCLLayerChain(plan, on: self)
    }
}

/// A layer chain resident on one OpenCL device.
///
/// Owns its queue, kernels and buffers until it is released. Runs are serialised by a
/// lock (they share the ping-pong buffers), so the chain is safe to call from many
/// threads; for parallel runs prepare one chain per thread.
final class OpenCLLayerChain: PreparedLayerChain, @unchecked Sendable {
    let plan: LayerChainPlan
    private let backend: OpenCLBackend
    private let objects: OpenCLObjects
    private let queue: cl_command_queue
    private let inputBuffer: cl_mem
    private let outputBuffer: cl_mem
    private let launches: [KernelLaunch]
    private let lock = NSLock()

    init(_ plan: LayerChainPlan, on backend: OpenCLBackend) throws {
        for (index, step) in plan.steps.enumerated() {
            let support = switch step {
            case let .conv(geometry, _, _): backend.residentSupport(for: geometry)
            case let .pool(geometry): backend.support(forPool: geometry)
            }
            if case let .unsupported(reason) = support {
                throw BackendError.unsupported(backend: backend.name, reason: "chain step \(index): \(reason)")
            }
        }
        var objects = OpenCLObjects()
        do {
            let context = backend.context.context
            let floats = MemoryLayout<Float>.size
            queue = try objects.queue(on: backend.context)
            inputBuffer = try objects.buffer(context, bytes: plan.input.elementCount * floats, flags: CL_MEM_READ_ONLY)
            let capacity = plan.steps.map(\.output.elementCount).max() ?? 1
            let pingPong = [try objects.buffer(context, bytes: capacity * floats),
                            try objects.buffer(context, bytes: capacity * floats)]
            var launches: [KernelLaunch] = []
            var source = inputBuffer
            for (index, step) in plan.steps.enumerated() {
                let target = pingPong[index % 2]
                switch step {
                case let .conv(geometry, weights, bias):
                    let parameters = try weights.withUnsafeBufferPointer { w in
                        try bias.withUnsafeBufferPointerOrNil { b in
                            try backend.uploadParameters(weights: w, bias: b, into: &objects)
                        }
                    }
                    launches.append(try backend.convolutionLaunch(geometry, input: source, weights: parameters.weights,
                                                                  bias: parameters.bias, output: target,
                                                                  objects: &objects))
                case let .pool(geometry):
                    launches.append(try backend.poolLaunch(geometry, input: source, output: target, objects: &objects))
                }
                source = target
            }
            outputBuffer = source
            // Weight steps (the gemm1x1 filter repack) depend only on the weights: run them
            // once here; each run enqueues only the main kernels.
            for launch in launches {
                for step in launch.weightSteps { try step.enqueue(on: queue, waitingFor: [], event: nil) }
            }
            try clCheck(clFinish(queue), "clFinish")
            self.launches = launches
        } catch {
            objects.release()
            throw error
        }
        self.objects = objects
        self.plan = plan
        self.backend = backend
        let uploads = plan.steps.reduce(0) { count, step in
            guard case let .conv(_, _, bias) = step else { return count }
            return count + (bias == nil ? 1 : 2)
        }
        let capacity = plan.steps.map(\.output.elementCount).max() ?? 0
        logger.debug("chain prepared on \(backend.name): \(plan.steps.count) steps, \(uploads) parameter uploads, 2 ping-pong buffers of \(capacity) floats")
    }

    deinit { objects.release() }

    /// Uploads `input`, runs every step on the device and downloads the last output.
    func run(_ input: Tensor) throws -> Tensor {
        guard input.shape == plan.input else {
            throw ConvolutionError.invalidValue(parameter: "chain input shape", expected: "\(plan.input)",
                                                actual: "\(input.shape)")
        }
        var output = try Tensor(zeros: plan.output)
        try input.withUnsafeBufferPointer { x in
            try output.withUnsafeMutableBufferPointer { y in try run(x, into: y) }
        }
        return output
    }

    /// Uploads `input`, runs every step on the device and downloads into `output`.
    ///
    /// On a host-unified device (PoCL, integrated GPUs) the first step reads `input` and
    /// the last writes `output` in place (`CL_MEM_USE_HOST_PTR`, a blocking map), as
    /// one-shot calls do: no copies (a 3.2 MB download took 0.25 ms on PoCL).
    func run(_ input: UnsafeBufferPointer<Float>, into output: UnsafeMutableBufferPointer<Float>) throws {
        try checkBuffers(input, output)
        if !backend.copiesHostArrays { return try lock.withLock { try runInPlace(input, into: output) } }
        try lock.withLock {
            // A failed enqueue must not leave commands running into the next run.
            defer { clFinish(queue) }
            try clCheck(clEnqueueWriteBuffer(queue, inputBuffer, cl_bool(CL_TRUE), 0, input.count * MemoryLayout<Float>.size,
                                             input.baseAddress, 0, nil, nil), "clEnqueueWriteBuffer")
            backend.transferCounter.record(.activationUpload)
            for launch in launches { try launch.main.enqueue(on: queue, waitingFor: [], event: nil) }
            try backend.download(outputBuffer, on: queue, into: output)
        }
        logger.debug("chain: 1 upload, 1 download, \(launches.count) kernels")
    }

    /// ``run(_:into:)`` with the caller's buffers bound to the first and last kernels; the
    /// lock is held. The prepared buffers are bound again before returning.
    private func runInPlace(_ input: UnsafeBufferPointer<Float>, into output: UnsafeMutableBufferPointer<Float>) throws {
        guard let first = launches.first, let last = launches.last else { return }
        var objects = OpenCLObjects()
        let context = backend.context.context
        defer {
            // Nothing may still use the wrapped memory once this returns.
            clFinish(queue)
            try? first.bind(inputBuffer, argument: first.inputArgument)
            try? last.bind(outputBuffer, argument: last.outputArgument)
            objects.release()
        }
        let x = try objects.wrap(UnsafeMutableRawBufferPointer(mutating: UnsafeRawBufferPointer(input)), to: context,
                                 flags: CL_MEM_READ_ONLY, as: .activationUpload, counter: backend.transferCounter)
        let y = try objects.wrap(UnsafeMutableRawBufferPointer(output), to: context, flags: CL_MEM_WRITE_ONLY, as: nil,
                                 counter: backend.transferCounter)
        try first.bind(x, argument: first.inputArgument)
        try last.bind(y, argument: last.outputArgument)
        for launch in launches { try launch.main.enqueue(on: queue, waitingFor: [], event: nil) }
        try backend.mapResult(y, on: queue, into: output)
        logger.debug("chain: input and output in place, \(launches.count) kernels")
    }
}
