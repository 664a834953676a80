import COpenCL
import ConvKitCore

extension OpenCLBackend {
    /// Runs the convolution: copies inputs to the device, launches the chosen kernel and
    /// reads the result back with a blocking read.
    ///
    /// Every OpenCL object made here is released before returning, and no host pointer is
    /// used after that: inputs are copied at buffer creation (`CL_MEM_COPY_HOST_PTR`) and
    /// the read-back blocks.
    ///
    /// - Throws: ``OpenCLError`` when a build or any OpenCL call fails.
    public func execute(_ geometry: ConvolutionGeometry, input: UnsafeBufferPointer<Float>,
                        weights: UnsafeBufferPointer<Float>, bias: UnsafeBufferPointer<Float>?,
                        output: UnsafeMutableBufferPointer<Float>) throws {
        let configuration = configuration(for: geometry)
        let (program, _) = try program(for: configuration)
        var resources = CallResources()
        defer { resources.release() }

        var status: cl_int = 0
        let created = clCreateKernel(program, configuration.file.entryPoint, &status)
        try clCheck(status, "clCreateKernel")
        guard let kernel = created else { throw OpenCLError.call(function: "clCreateKernel", code: Int32(CL_INVALID_KERNEL)) }
        resources.kernel = kernel
        let queue = try context.makeQueue()
        resources.queue = queue

        let inputBuffer = try resources.buffer(context.context, copying: UnsafeRawBufferPointer(input))
        let weightBuffer = try resources.buffer(context.context, copying: UnsafeRawBufferPointer(weights))
        // Without bias the kernel never reads argument 2, but it must be a valid buffer.
        let biasBuffer = try bias.map { try resources.buffer(context.context, copying: UnsafeRawBufferPointer($0)) }
            ?? inputBuffer
        let outputBuffer = try resources.buffer(context.context, outputBytes: output.count * MemoryLayout<Float>.size)

        var arguments = KernelArguments(kernel)
        try arguments.append(inputBuffer, "input")
        try arguments.append(weightBuffer, "weights")
        try arguments.append(biasBuffer, "bias")
        try arguments.append(outputBuffer, "output")
        if configuration.file == .tiled {
            let tile = configuration.tileExtent(for: geometry)
            try arguments.appendLocal(bytes: tile.height * tile.width * MemoryLayout<Float>.size, "tile")
        }
        try appendShape(geometry, to: &arguments)
        if configuration.file == .tiled {
            let tile = configuration.tileExtent(for: geometry)
            try arguments.append(tile.height, "tile_rows")
            try arguments.append(tile.width, "tile_cols")
            try arguments.append(configuration.channelBlocks(for: geometry), "k_blocks")
        }

        let (global, local) = configuration.launch(for: geometry)
        try clCheck(clEnqueueNDRangeKernel(queue, kernel, 3, nil, global, local, 0, nil, nil), "clEnqueueNDRangeKernel")
        try clCheck(clEnqueueReadBuffer(queue, outputBuffer, cl_bool(CL_TRUE), 0, output.count * MemoryLayout<Float>.size,
                                        output.baseAddress, 0, nil, nil), "clEnqueueReadBuffer")
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

/// The OpenCL objects of one call, released together however the call ends.
private struct CallResources {
    var kernel: cl_kernel?
    var queue: cl_command_queue?
    var buffers: [cl_mem] = []

    mutating func buffer(_ context: cl_context, copying bytes: UnsafeRawBufferPointer) throws(OpenCLError) -> cl_mem {
        let flags = cl_mem_flags(CL_MEM_READ_ONLY) | cl_mem_flags(CL_MEM_COPY_HOST_PTR)
        return try make(context, flags, bytes.count, UnsafeMutableRawPointer(mutating: bytes.baseAddress))
    }

    mutating func buffer(_ context: cl_context, outputBytes: Int) throws(OpenCLError) -> cl_mem {
        try make(context, cl_mem_flags(CL_MEM_WRITE_ONLY), outputBytes, nil)
    }

    private mutating func make(_ context: cl_context, _ flags: cl_mem_flags, _ size: Int,
                               _ host: UnsafeMutableRawPointer?) throws(OpenCLError) -> cl_mem {
        var status: cl_int = 0
        let buffer = clCreateBuffer(context, flags, size, host, &status)
        try clCheck(status, "clCreateBuffer")
        guard let buffer else { throw .call(function: "clCreateBuffer", code: Int32(CL_MEM_OBJECT_ALLOCATION_FAILURE)) }
        buffers.append(buffer)
        return buffer
    }

    /// Waits for the queue before releasing, so no buffer is freed under a running kernel
    /// when an error cut the call short.
    func release() {
        if let queue {
            clFinish(queue)
            clReleaseCommandQueue(queue)
        }
        buffers.forEach { clReleaseMemObject($0) }
        if let kernel { clReleaseKernel(kernel) }
    }
}
