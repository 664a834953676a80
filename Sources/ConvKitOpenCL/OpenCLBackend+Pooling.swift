import COpenCL
import ConvKitCore

extension OpenCLBackend {
    /// The pooling program's configuration on this device (one program for every pooling).
    public var poolConfiguration: KernelConfiguration { KernelConfiguration.pool(on: deviceInfo) }

    /// Supported unless a dimension leaves the kernel's `int` range or a buffer exceeds the
    /// device's largest allocation.
    public func support(forPool geometry: PoolGeometry) -> BackendSupport {
        let input = geometry.input, output = geometry.output
        let rows = geometry.rows, columns = geometry.columns
        let sizes = input.dimensions + output.dimensions
            + [input.batch * input.channels, input.height * input.width, geometry.window.height * geometry.window.width]
            + [rows.input + rows.padBegin + rows.padEnd, columns.input + columns.padBegin + columns.padEnd,
               (rows.output - 1) * rows.stride + rows.effectiveKernel,
               (columns.output - 1) * columns.stride + columns.effectiveKernel]
        return supportedSizes(sizes, buffers: [("input", input), ("output", output)])
    }

    /// Pools on the device: one activation upload, `pool2d` (or `global_pool2d` for a
    /// whole-map window), one blocking download.
    ///
    /// - Throws: ``ConvolutionError/bufferSizeMismatch(parameter:expected:actual:)`` for
    ///   wrongly sized buffers, ``BackendError/unsupported(backend:reason:)`` beyond the
    ///   device's limits, ``OpenCLError`` when a build or an OpenCL call fails.
    public func executePool(_ geometry: PoolGeometry, input: UnsafeBufferPointer<Float>,
                            output: UnsafeMutableBufferPointer<Float>) throws {
        guard input.count == geometry.input.elementCount else {
            throw ConvolutionError.bufferSizeMismatch(parameter: "input", expected: geometry.input.elementCount, actual: input.count)
        }
        guard output.count == geometry.output.elementCount else {
            throw ConvolutionError.bufferSizeMismatch(parameter: "output", expected: geometry.output.elementCount,
                                                      actual: output.count)
        }
        if case let .unsupported(reason) = support(forPool: geometry) {
            throw BackendError.unsupported(backend: name, reason: reason)
        }
        var objects = OpenCLObjects()
        defer { objects.release() }
        let queue = try objects.queue(on: context)
        let inputBuffer = try objects.upload(UnsafeRawBufferPointer(input), to: context.context, as: .activationUpload,
                                             counter: transferCounter)
        let outputBuffer = try objects.buffer(context.context, bytes: output.count * MemoryLayout<Float>.size,
                                              flags: CL_MEM_WRITE_ONLY)
        let launch = try poolLaunch(geometry, input: inputBuffer, output: outputBuffer, objects: &objects)
        try launch.enqueue(on: queue)
        try download(outputBuffer, on: queue, into: output)
    }

    /// The pooling kernel for `geometry` with every argument set.
    func poolLaunch(_ geometry: PoolGeometry, input: cl_mem, output: cl_mem,
                    objects: inout OpenCLObjects) throws(OpenCLError) -> KernelLaunch {
        let configuration = poolConfiguration
        let (program, _) = try program(for: configuration)
        let (entryPoint, global, local) = configuration.launch(forPool: geometry)
        let kernel = try objects.kernel(program, entryPoint)
        var arguments = KernelArguments(kernel)
        try arguments.append(input, "input")
        try arguments.append(output, "output")
        let x = geometry.input, y = geometry.output
        let mode = geometry.mode == .max ? 0 : 1
        if entryPoint == KernelFile.globalPoolEntryPoint {
            try arguments.appendLocal(bytes: configuration.reductionLanes * MemoryLayout<Float>.size, "scratch")
            try arguments.append(x.batch * x.channels, "planes")
            try arguments.append(x.height * x.width, "plane_size")
            try arguments.append(mode, "mode")
        } else {
            try arguments.append(x.batch * x.channels, "planes")
            try arguments.append(x.height, "in_height")
            try arguments.append(x.width, "in_width")
            try arguments.append(y.height, "out_height")
            try arguments.append(y.width, "out_width")
            try arguments.append(geometry.window.height, "window_h")
            try arguments.append(geometry.window.width, "window_w")
            try arguments.append(geometry.stride.height, "stride_h")
            try arguments.append(geometry.stride.width, "stride_w")
            try arguments.append(geometry.dilation.height, "dilation_h")
            try arguments.append(geometry.dilation.width, "dilation_w")
            try arguments.append(geometry.padding.top, "pad_top")
            try arguments.append(geometry.padding.bottom, "pad_bottom")
            try arguments.append(geometry.padding.left, "pad_left")
            try arguments.append(geometry.padding.right, "pad_right")
            try arguments.append(mode, "mode")
            try arguments.append(geometry.countIncludePad ? 1 : 0, "count_include_pad")
        }
        return KernelLaunch(kernel: kernel, global: global, local: local, inputArgument: 0, outputArgument: 1)
    }
}
