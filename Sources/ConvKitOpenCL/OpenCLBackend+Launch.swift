import COpenCL
import ConvKitCore

extension OpenCLBackend {
    /// Runs the convolution: copies inputs to the device, launches the chosen kernel and
    /// reads the result back with a blocking read. On a device with host-unified memory
    /// (``OpenCLDeviceInfo/hostUnifiedMemory``: PoCL, integrated GPUs) the buffers wrap
    /// the caller's arrays instead (`CL_MEM_USE_HOST_PTR`) and the result is made visible
    /// with a blocking map: no copies (on PoCL they were 15–25% of a ResNet-50 layer).
    ///
    /// Every OpenCL object made here is released before returning, and no host pointer is
    /// used after that: inputs are copied at buffer creation (`CL_MEM_COPY_HOST_PTR`) or
    /// wrapped until the queue has finished, and the read-back or map blocks. Counts one
    /// activation upload, one parameter upload per weights and bias buffer, and one
    /// download either way.
    ///
    /// - Throws: ``OpenCLError`` when a build or any OpenCL call fails.
    public func execute(_ geometry: ConvolutionGeometry, input: UnsafeBufferPointer<Float>,
                        weights: UnsafeBufferPointer<Float>, bias: UnsafeBufferPointer<Float>?,
                        output: UnsafeMutableBufferPointer<Float>) throws {
        if let split = splitPlan(for: geometry) {
            return try executeSplit(split, geometry, input: input, weights: weights, bias: bias, output: output)
        }
        if !copiesHostArrays {
            return try executeInPlace(geometry, input: input, weights: weights, bias: bias, output: output)
        }
        var objects = OpenCLObjects()
        defer { objects.release() }
        let queue = try objects.queue(on: context)
        let inputBuffer = try objects.upload(UnsafeRawBufferPointer(input), to: context.context, as: .activationUpload,
                                             counter: transferCounter)
        let (weightBuffer, biasBuffer) = try uploadParameters(weights: weights, bias: bias, into: &objects)
        let outputBuffer = try objects.buffer(context.context, bytes: output.count * MemoryLayout<Float>.size,
                                              flags: CL_MEM_WRITE_ONLY)
        let launch = try convolutionLaunch(geometry, input: inputBuffer, weights: weightBuffer, bias: biasBuffer,
                                           output: outputBuffer, objects: &objects)
        try launch.enqueue(on: queue)
        try download(outputBuffer, on: queue, into: output)
    }

    /// ``execute(_:input:weights:bias:output:)`` on a host-unified device: every buffer wraps
    /// the caller's memory; the output is synchronised with a blocking map and unmap.
    private func executeInPlace(_ geometry: ConvolutionGeometry, input: UnsafeBufferPointer<Float>,
                                weights: UnsafeBufferPointer<Float>, bias: UnsafeBufferPointer<Float>?,
                                output: UnsafeMutableBufferPointer<Float>) throws {
        var objects = OpenCLObjects()
        defer { objects.release() }
        let queue = try objects.queue(on: context)
        func wrap(_ values: UnsafeBufferPointer<Float>, _ transfer: OpenCLTransferCounter.Transfer) throws(OpenCLError) -> cl_mem {
            try objects.wrap(UnsafeMutableRawBufferPointer(mutating: UnsafeRawBufferPointer(values)), to: context.context,
                             flags: CL_MEM_READ_ONLY, as: transfer, counter: transferCounter)
        }
        let inputBuffer = try wrap(input, .activationUpload)
        let weightBuffer = try wrap(weights, .parameterUpload)
        let biasBuffer = try bias.map { b throws(OpenCLError) in try wrap(b, .parameterUpload) }
        let outputBuffer = try objects.wrap(UnsafeMutableRawBufferPointer(output), to: context.context,
                                            flags: CL_MEM_WRITE_ONLY, as: nil, counter: transferCounter)
        let launch = try convolutionLaunch(geometry, input: inputBuffer, weights: weightBuffer, bias: biasBuffer,
                                           output: outputBuffer, objects: &objects)
        try launch.enqueue(on: queue)
        // The release in `objects` waits for the unmap (clFinish) before freeing anything.
        try mapResult(outputBuffer, on: queue, into: output)
    }

    /// Makes the result in `buffer`, which wraps `output` (`CL_MEM_USE_HOST_PTR`), visible
    /// there: a blocking map and an unmap (whose completion the caller awaits), counted as
    /// one download.
    func mapResult(_ buffer: cl_mem, on queue: cl_command_queue, into output: UnsafeMutableBufferPointer<Float>) throws(OpenCLError) {
        var status: cl_int = 0
        let bytes = output.count * MemoryLayout<Float>.size
        let mapped = clEnqueueMapBuffer(queue, buffer, cl_bool(CL_TRUE), cl_map_flags(CL_MAP_READ), 0, max(1, bytes),
                                        0, nil, nil, &status)
        try clCheck(status, "clEnqueueMapBuffer")
        // A driver may map a copy rather than the host memory itself; then copy it back.
        if let mapped, mapped != UnsafeMutableRawPointer(output.baseAddress), let base = output.baseAddress {
            UnsafeMutableRawPointer(base).copyMemory(from: mapped, byteCount: bytes)
        }
        try clCheck(clEnqueueUnmapMemObject(queue, buffer, mapped, 0, nil, nil), "clEnqueueUnmapMemObject")
        transferCounter.record(.download)
    }

    /// Device copies of the weights and (when present) the bias, each counted as a
    /// parameter upload.
    func uploadParameters(weights: UnsafeBufferPointer<Float>, bias: UnsafeBufferPointer<Float>?,
                          into objects: inout OpenCLObjects) throws(OpenCLError) -> (weights: cl_mem, bias: cl_mem?) {
        let weightBuffer = try objects.upload(UnsafeRawBufferPointer(weights), to: context.context, as: .parameterUpload,
                                              counter: transferCounter)
        guard let bias else { return (weightBuffer, nil) }
        let biasBuffer = try objects.upload(UnsafeRawBufferPointer(bias), to: context.context, as: .parameterUpload,
                                            counter: transferCounter)
        return (weightBuffer, biasBuffer)
    }

    /// A blocking read of `output.count` floats from `buffer`, counted as one download.
    func download(_ buffer: cl_mem, on queue: cl_command_queue, into output: UnsafeMutableBufferPointer<Float>) throws(OpenCLError) {
        try clCheck(clEnqueueReadBuffer(queue, buffer, cl_bool(CL_TRUE), 0, output.count * MemoryLayout<Float>.size,
                                        output.baseAddress, 0, nil, nil), "clEnqueueReadBuffer")
        transferCounter.record(.download)
    }

    /// The chosen convolution kernel for `geometry` with every argument set, reading and
    /// writing the given device buffers.
    func convolutionLaunch(_ geometry: ConvolutionGeometry, input: cl_mem, weights: cl_mem, bias: cl_mem?, output: cl_mem,
                           objects: inout OpenCLObjects) throws(OpenCLError) -> KernelLaunch {
        var configuration = configuration(for: geometry)
        var (program, _) = try program(for: configuration)
        var kernel = try objects.kernel(program, configuration.entryPoint(for: geometry))
        // The built kernel may allow fewer work-items per group than the device
        // (CL_KERNEL_WORK_GROUP_SIZE: registers, local memory): then the direct kernel with a
        // work-group that fits, halved until it does.
        var limit = try Self.workGroupLimit(kernel, on: context.device)
        while configuration.workGroup.width * configuration.workGroup.height > limit,
              configuration.workGroup.width * configuration.workGroup.height > 1 {
            var limited = deviceInfo
            limited.maxWorkGroupSize = min(limit, configuration.workGroup.width * configuration.workGroup.height / 2)
            configuration = KernelConfiguration.choose(for: geometry, on: limited, choice: .direct)
            logger.info("OpenCL: \(configuration.file) work-group limited to \(limit) by the built kernel; using \(configuration)")
            (program, _) = try self.program(for: configuration)
            kernel = try objects.kernel(program, configuration.entryPoint(for: geometry))
            limit = try Self.workGroupLimit(kernel, on: context.device)
        }
        var weightSteps: [KernelLaunch.Step] = []
        var weights = weights
        if configuration.readsPackedFilters {
            let (packed, step) = try packFiltersStep(geometry, configuration, program: program, weights: weights,
                                                     objects: &objects)
            weights = packed
            weightSteps.append(step)
        }
        var arguments = KernelArguments(kernel)
        try arguments.append(input, "input")
        try arguments.append(weights, "weights")
        // Without bias the kernel never reads argument 2, but it must be a valid buffer.
        try arguments.append(bias ?? input, "bias")
        try arguments.append(output, "output")
        let tiled = configuration.file == .tiled
        let tile = configuration.tileExtent(for: geometry)
        if tiled { try arguments.appendLocal(bytes: tile.height * tile.width * MemoryLayout<Float>.size, "tile") }
        try appendShape(geometry, to: &arguments)
        if tiled {
            try arguments.append(tile.height, "tile_rows")
            try arguments.append(tile.width, "tile_cols")
            try arguments.append(configuration.channelBlocks(for: geometry), "k_blocks")
        }
        if configuration.file == .igemm || configuration.file == .gemm1x1 { try arguments.append(configuration.flatMode(geometry), "flat") }
        try arguments.append(Int(geometry.border.kernelCode), "border")
        try arguments.append(Int(geometry.activation.code), "act")
        let (p0, p1) = geometry.activation.parameters
        try arguments.append(p0, "act_p0")
        try arguments.append(p1, "act_p1")
        let (global, local) = configuration.launch(for: geometry)
        var launch = KernelLaunch(kernel: kernel, global: global, local: local, inputArgument: 0, outputArgument: 3)
        launch.weightSteps = weightSteps
        return launch
    }

    /// The `pack_filters` step for `configuration` and the scratch buffer it fills:
    /// `groups · ceil(Kg / RM) · RM · Cg · R · S` floats (RM: the configuration's filter block).
    private func packFiltersStep(_ geometry: ConvolutionGeometry, _ configuration: KernelConfiguration,
                                 program: cl_program, weights: cl_mem,
                                 objects: inout OpenCLObjects) throws(OpenCLError) -> (cl_mem, KernelLaunch.Step) {
        let cg = geometry.inputChannelsPerGroup
        let blocks = geometry.groups * configuration.channelBlocks(for: geometry)
        let taps = geometry.kernel.height * geometry.kernel.width
        let packed = try objects.buffer(context.context, bytes: blocks * configuration.channelBlock * cg * taps * MemoryLayout<Float>.size)
        let kernel = try objects.kernel(program, KernelFile.packFiltersEntryPoint)
        var arguments = KernelArguments(kernel)
        try arguments.append(weights, "weights")
        try arguments.append(packed, "packed")
        try arguments.append(geometry.outputChannelsPerGroup, "filters_per_group")
        try arguments.append(cg, "channels_per_group")
        try arguments.append(taps, "taps")
        let width = max(1, min(16, deviceInfo.maxWorkGroupSize))
        return (packed, KernelLaunch.Step(kernel: kernel, global: [KernelConfiguration.roundUp(cg, to: width), blocks],
                                          local: [width, 1]))
    }

    /// `CL_KERNEL_WORK_GROUP_SIZE` of `kernel` on `device`: the most work-items per group
    /// this built kernel can run.
    static func workGroupLimit(_ kernel: cl_kernel, on device: cl_device_id) throws(OpenCLError) -> Int {
        var size = 0
        try clCheck(clGetKernelWorkGroupInfo(kernel, device, cl_kernel_work_group_info(CL_KERNEL_WORK_GROUP_SIZE),
                                             MemoryLayout<Int>.size, &size, nil), "clGetKernelWorkGroupInfo")
        return size
    }

    /// The `int` arguments both kernels share, in their header's order.
    private func appendShape(_ geometry: ConvolutionGeometry, to arguments: inout KernelArguments) throws(OpenCLError) {
        let input = geometry.input, output = geometry.output
        try arguments.append(input.batch, "batch")
        try arguments.append(input.channels, "in_channels")
        try arguments.append(input.height, "in_height")
        try arguments.append(input.width, "in_width")
        try arguments.append(output.channels, "out_channels")
        try arguments.append(output.height, "out_height")
        try arguments.append(output.width, "out_width")
        try arguments.append(geometry.kernel.height, "kernel_h")
        try arguments.append(geometry.kernel.width, "kernel_w")
        try arguments.append(geometry.stride.height, "stride_h")
        try arguments.append(geometry.stride.width, "stride_w")
        try arguments.append(geometry.dilation.height, "dilation_h")
        try arguments.append(geometry.dilation.width, "dilation_w")
        try arguments.append(geometry.padding.top, "pad_top")
        try arguments.append(geometry.padding.left, "pad_left")
        try arguments.append(geometry.inputChannelsPerGroup, "channels_per_group")
        try arguments.append(geometry.outputChannelsPerGroup, "filters_per_group")
        try arguments.append(geometry.hasBias ? 1 : 0, "has_bias")
    }
}

extension BorderMode {
    /// The `border` argument of the convolution kernels: 0 zeros, 1 reflect, 2 replicate,
    /// 3 circular (the `BORDER_*` defines of the `.cl` files).
    var kernelCode: Int32 {
        switch self {
        case .zeros: 0
        case .reflect: 1
        case .replicate: 2
        case .circular: 3
        }
    }
}
