import COpenCL
import ConvKitCore

extension OpenCLBackend {
    /// A new in-order queue on this backend's device for ``DeviceTensor`` work.
    ///
    /// - Parameter profiling: Time every command (`CL_QUEUE_PROFILING_ENABLE`); read the
    ///   times with ``OpenCLStream/takeProfile()``.
    public func makeStream(profiling: Bool = false) throws(OpenCLError) -> OpenCLStream {
        try OpenCLStream(on: context, profiling: profiling)
    }

    /// The device's shared stream, which uploads use when given none.
    public func defaultStream() throws(OpenCLError) -> OpenCLStream {
        try OpenCLStream.shared(on: context)
    }

    /// Copies `tensor` into a new buffer on this backend's device.
    ///
    /// The write blocks: when this returns the copy is done and `tensor`'s memory is no
    /// longer referenced, so no host buffer has to outlive a pending command. (Kernels and
    /// reads of device tensors never block.) Counted as one activation or parameter upload.
    ///
    /// - Parameters:
    ///   - tensor: The data, `NCHW` (or `KCRS` for weights).
    ///   - contents: How the transfer is counted (default activations).
    ///   - stream: The queue the tensor's later operations run on (default: the device's
    ///     shared stream).
    /// - Throws: ``DeviceTensorError/foreignDevice(parameter:expected:actual:)`` for a
    ///   stream of another device; ``OpenCLError`` when allocating or writing fails.
    public func upload(_ tensor: Tensor, as contents: DeviceTensor.Contents = .activations,
                       on stream: OpenCLStream? = nil) throws -> DeviceTensor {
        try tensor.withUnsafeBufferPointer { try upload($0, shape: tensor.shape, as: contents, on: stream) }
    }

    /// Copies a bias (`K` values) to the device as a `1×K×1×1` tensor, counted as a
    /// parameter upload.
    ///
    /// - Throws: ``ConvolutionError/invalidShape(parameter:shape:)`` for an empty bias;
    ///   otherwise as ``upload(_:as:on:)``.
    public func upload(bias: [Float], on stream: OpenCLStream? = nil) throws -> DeviceTensor {
        try upload(try Tensor(shape: TensorShape(1, bias.count, 1, 1), scalars: bias), as: .parameters, on: stream)
    }

    /// Convolves device tensors on the device, without waiting.
    ///
    /// Validates through ``Conv2DDescriptor/resolve(input:weights:biasCount:)`` (the bias
    /// may have any shape with `K` elements), checks that every tensor lives on this
    /// backend's device, then enqueues the kernel ``configuration(for:)`` chooses on the
    /// input's stream, waiting on the events of the input, weights and bias. Returns at
    /// once; the output carries the kernel's event.
    ///
    /// - Throws: ``ConvolutionError`` for invalid shapes or parameters,
    ///   ``DeviceTensorError/foreignDevice(parameter:expected:actual:)`` for a tensor of
    ///   another device, ``BackendError/unsupported(backend:reason:)`` beyond the device's
    ///   limits, ``OpenCLError`` when a build or an OpenCL call fails.
    public func convolve(_ input: DeviceTensor, weights: DeviceTensor, bias: DeviceTensor? = nil,
                         descriptor: Conv2DDescriptor) throws -> DeviceTensor {
        let geometry = try descriptor.resolve(input: input.shape, weights: weights.shape,
                                              biasCount: bias?.shape.elementCount)
        try checkOwnership([("input", input), ("weights", weights)] + (bias.map { [("bias", $0)] } ?? []))
        if case let .unsupported(reason) = residentSupport(for: geometry) {
            throw BackendError.unsupported(backend: name, reason: reason)
        }
        return try enqueueConvolution(geometry, input: input, weights: weights, bias: bias)
    }

    /// Pools a device tensor on the device, without waiting; as
    /// ``convolve(_:weights:bias:descriptor:)`` for validation, streams and events.
    ///
    /// - Throws: ``ConvolutionError`` for invalid parameters,
    ///   ``DeviceTensorError/foreignDevice(parameter:expected:actual:)``,
    ///   ``BackendError/unsupported(backend:reason:)``, ``OpenCLError``.
    public func pool(_ input: DeviceTensor, descriptor: Pool2DDescriptor) throws -> DeviceTensor {
        let geometry = try descriptor.resolve(input: input.shape)
        try checkOwnership([("input", input)])
        if case let .unsupported(reason) = support(forPool: geometry) {
            throw BackendError.unsupported(backend: name, reason: reason)
        }
        return try enqueue(output: geometry.output, reading: [input]) { output, objects throws(OpenCLError) in
            try poolLaunch(geometry, input: input.buffer, output: output, objects: &objects)
        }
    }

    /// Runs one host-buffer convolution the way ``execute(_:input:weights:bias:output:)``
    /// does (upload input, weights and bias; the same kernel; download), on a profiling
    /// queue, and returns the device's timing of each command.
    ///
    /// Uploads are timed writes here, not `CL_MEM_COPY_HOST_PTR` creations, so the
    /// host→device time is measured; the kernel is the one ``configuration(for:)`` chooses.
    /// Counts the same transfers as an ordinary call.
    ///
    /// - Parameter stream: A profiling stream to reuse (default: a new one per call).
    /// - Throws: ``ConvolutionError/bufferSizeMismatch(parameter:expected:actual:)`` for
    ///   wrongly sized buffers, ``DeviceTensorError/profilingDisabled`` for a stream
    ///   without profiling, ``BackendError/unsupported(backend:reason:)``, ``OpenCLError``.
    public func profile(_ geometry: ConvolutionGeometry, input: UnsafeBufferPointer<Float>,
                        weights: UnsafeBufferPointer<Float>, bias: UnsafeBufferPointer<Float>?,
                        output: UnsafeMutableBufferPointer<Float>, on stream: OpenCLStream? = nil) throws -> OpenCLProfile {
        func check(_ parameter: String, _ actual: Int, _ expected: Int) throws {
            guard actual == expected else {
                throw ConvolutionError.bufferSizeMismatch(parameter: parameter, expected: expected, actual: actual)
            }
        }
        try check("input", input.count, geometry.input.elementCount)
        try check("weights", weights.count, geometry.filter.elementCount)
        try check("bias", bias?.count ?? 0, geometry.hasBias ? geometry.filter.batch : 0)
        try check("output", output.count, geometry.output.elementCount)
        if case let .unsupported(reason) = residentSupport(for: geometry) {
            throw BackendError.unsupported(backend: name, reason: reason)
        }
        let stream = try stream ?? makeStream(profiling: true)
        guard stream.profiling else { throw DeviceTensorError.profilingDisabled }
        let x = try upload(input, shape: geometry.input, as: .activations, on: stream)
        let w = try upload(weights, shape: geometry.filter, as: .parameters, on: stream)
        let b = try bias.map { try upload($0, shape: TensorShape(1, $0.count, 1, 1), as: .parameters, on: stream) }
        let y = try enqueueConvolution(geometry, input: x, weights: w, bias: b)
        try y.download(into: output)
        return try stream.takeProfile()
    }

    // MARK: - Internals

    /// A new device tensor holding a copy of `values` (blocking write, see
    /// ``upload(_:as:on:)``).
    func upload(_ values: UnsafeBufferPointer<Float>, shape: TensorShape, as contents: DeviceTensor.Contents,
                on stream: OpenCLStream?) throws -> DeviceTensor {
        let stream = try stream ?? defaultStream()
        guard stream.device === context else {
            throw DeviceTensorError.foreignDevice(parameter: "stream", expected: deviceLabel, actual: "\(stream.deviceName) (another OpenCL context)")
        }
        let buffer = try makeDeviceBuffer(floats: values.count)
        var event: cl_event?
        let status = clEnqueueWriteBuffer(stream.queue, buffer, cl_bool(CL_TRUE), 0, values.count * MemoryLayout<Float>.size,
                                          values.baseAddress, 0, nil, &event)
        if let event {
            stream.record(.upload, event)
            clReleaseEvent(event)
        }
        do { try clCheck(status, "clEnqueueWriteBuffer") } catch {
            clReleaseMemObject(buffer)
            throw error
        }
        transferCounter.record(contents == .activations ? .activationUpload : .parameterUpload)
        // The write has completed, so the tensor has no pending event.
        return DeviceTensor(shape: shape, stream: stream, buffer: buffer, event: nil, counter: transferCounter)
    }

    /// Enqueues the chosen convolution kernel on the input's stream (validated geometry).
    func enqueueConvolution(_ geometry: ConvolutionGeometry, input: DeviceTensor, weights: DeviceTensor,
                            bias: DeviceTensor?) throws -> DeviceTensor {
        try enqueue(output: geometry.output, reading: [input, weights] + (bias.map { [$0] } ?? [])) { output, objects throws(OpenCLError) in
            try convolutionLaunch(geometry, input: input.buffer, weights: weights.buffer, bias: bias?.buffer,
                                  output: output, objects: &objects)
        }
    }

    /// Allocates the output, sets up the launch with `makeLaunch`, enqueues it on the
    /// first input's stream waiting on every input's event, and returns the output with
    /// the kernel's event. The kernel object is released at once: OpenCL keeps it until
    /// the command has run.
    private func enqueue(output shape: TensorShape, reading inputs: [DeviceTensor],
                         _ makeLaunch: (cl_mem, inout OpenCLObjects) throws(OpenCLError) -> KernelLaunch) throws -> DeviceTensor {
        let stream = inputs[0].stream
        let buffer = try makeDeviceBuffer(floats: shape.elementCount)
        var objects = OpenCLObjects()
        defer { objects.release() }
        let events: [cl_event]
        do {
            let launch = try makeLaunch(buffer, &objects)
            events = try launch.enqueue(on: stream.queue, waitingFor: inputs.compactMap(\.event))
        } catch {
            clReleaseMemObject(buffer)
            throw error
        }
        for event in events { stream.record(.kernel, event) }
        // The in-order queue runs the steps one after another: the last event covers them.
        events.dropLast().forEach { clReleaseEvent($0) }
        return DeviceTensor(shape: shape, stream: stream, buffer: buffer, event: events.last, counter: transferCounter)
    }

    /// Throws unless every tensor lives in this backend's OpenCL context.
    private func checkOwnership(_ tensors: [(String, DeviceTensor)]) throws(DeviceTensorError) {
        for (parameter, tensor) in tensors where tensor.device !== context {
            throw .foreignDevice(parameter: parameter, expected: deviceLabel,
                                 actual: "\(tensor.stream.deviceName) (another OpenCL context)")
        }
    }

    private var deviceLabel: String { "\(name) (\(deviceInfo.name))" }

    /// An uninitialised read-write buffer of `floats` floats, owned by the caller.
    private func makeDeviceBuffer(floats: Int) throws(OpenCLError) -> cl_mem {
        var status: cl_int = 0
        let buffer = clCreateBuffer(context.context, cl_mem_flags(CL_MEM_READ_WRITE), max(1, floats) * MemoryLayout<Float>.size,
                                    nil, &status)
        try clCheck(status, "clCreateBuffer")
        guard let buffer else { throw .call(function: "clCreateBuffer", code: Int32(CL_MEM_OBJECT_ALLOCATION_FAILURE)) }
        return buffer
    }
}

extension KernelLaunch {
    /// Enqueues every step, the first after `events`, and returns each step's event in
    /// order (the caller releases them); the last one is the main kernel's.
    func enqueue(on queue: cl_command_queue, waitingFor events: [cl_event]) throws(OpenCLError) -> [cl_event] {
        var made: [cl_event] = []
        do throws(OpenCLError) {
            for (index, step) in steps.enumerated() {
                var event: cl_event?
                try step.enqueue(on: queue, waitingFor: index == 0 ? events : [], event: &event)
                guard let event else { throw OpenCLError.call(function: "clEnqueueNDRangeKernel", code: Int32(CL_INVALID_EVENT)) }
                made.append(event)
            }
        } catch {
            made.forEach { clReleaseEvent($0) }
            throw error
        }
        return made
    }
}
