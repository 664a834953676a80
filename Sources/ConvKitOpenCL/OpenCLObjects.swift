import COpenCL

/// OpenCL objects created together and released together, however the work ends.
///
/// A one-shot call releases them before it returns; a prepared layer chain keeps them
/// for its lifetime. Uploads are counted on the backend's ``OpenCLTransferCounter``.
struct OpenCLObjects {
    private(set) var queue: cl_command_queue?
    private(set) var kernels: [cl_kernel] = []
    private(set) var buffers: [cl_mem] = []

    /// The in-order queue every command of these objects goes to, created on first use.
    mutating func queue(on device: OpenCLDeviceContext) throws(OpenCLError) -> cl_command_queue {
        if let queue { return queue }
        let made = try device.makeQueue()
        queue = made
        return made
    }

    /// A kernel object for `entryPoint` of `program`.
    mutating func kernel(_ program: cl_program, _ entryPoint: String) throws(OpenCLError) -> cl_kernel {
        var status: cl_int = 0
        let created = clCreateKernel(program, entryPoint, &status)
        try clCheck(status, "clCreateKernel")
        guard let created else { throw .call(function: "clCreateKernel", code: Int32(CL_INVALID_KERNEL)) }
        kernels.append(created)
        return created
    }

    /// A read-only device copy of `bytes` (`CL_MEM_COPY_HOST_PTR`: the copy is made
    /// before this returns), counted as one `transfer`.
    mutating func upload(_ bytes: UnsafeRawBufferPointer, to context: cl_context, as transfer: OpenCLTransferCounter.Transfer,
                         counter: OpenCLTransferCounter) throws(OpenCLError) -> cl_mem {
        let flags = cl_mem_flags(CL_MEM_READ_ONLY) | cl_mem_flags(CL_MEM_COPY_HOST_PTR)
        let buffer = try make(context, flags, bytes.count, UnsafeMutableRawPointer(mutating: bytes.baseAddress))
        counter.record(transfer)
        return buffer
    }

    /// A buffer over the caller's own memory (`CL_MEM_USE_HOST_PTR`), for devices with
    /// host-unified memory: nothing is copied. Valid only while `bytes` is; a one-shot call
    /// releases it (after `clFinish`) before returning. Counted as one `transfer`: it hands
    /// host data to the device just as a copy would.
    mutating func wrap(_ bytes: UnsafeMutableRawBufferPointer, to context: cl_context, flags: Int32,
                       as transfer: OpenCLTransferCounter.Transfer?, counter: OpenCLTransferCounter) throws(OpenCLError) -> cl_mem {
        let buffer = try make(context, cl_mem_flags(flags) | cl_mem_flags(CL_MEM_USE_HOST_PTR), max(1, bytes.count),
                              bytes.baseAddress)
        if let transfer { counter.record(transfer) }
        return buffer
    }

    /// An uninitialised device buffer of `bytes` bytes.
    mutating func buffer(_ context: cl_context, bytes: Int, flags: Int32 = CL_MEM_READ_WRITE) throws(OpenCLError) -> cl_mem {
        try make(context, cl_mem_flags(flags), bytes, nil)
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
    /// when an error cut the work short.
    func release() {
        if let queue {
            clFinish(queue)
            clReleaseCommandQueue(queue)
        }
        buffers.forEach { clReleaseMemObject($0) }
        kernels.forEach { clReleaseKernel($0) }
    }
}

/// The kernels of one operation with their arguments set, in queue order: weight
/// preparation steps (a filter repack, depending only on the weights), then the main
/// kernel.
struct KernelLaunch {
    /// One kernel and the NDRange it runs over.
    struct Step {
        let kernel: cl_kernel
        let global: [Int]
        let local: [Int]
    }

    /// Steps that only read the weights and write a scratch buffer the main kernel reads.
    var weightSteps: [Step] = []
    let main: Step
    /// The main kernel's argument indices of its input and output buffers (a chain rebinds
    /// them to the caller's memory on host-unified devices).
    let inputArgument: cl_uint
    let outputArgument: cl_uint

    init(kernel: cl_kernel, global: [Int], local: [Int], inputArgument: cl_uint, outputArgument: cl_uint) {
        main = Step(kernel: kernel, global: global, local: local)
        self.inputArgument = inputArgument
        self.outputArgument = outputArgument
    }

    /// Points the main kernel's input or output argument at `buffer`.
    func bind(_ buffer: cl_mem, argument: cl_uint) throws(OpenCLError) {
        var value: cl_mem? = buffer
        try clCheck(clSetKernelArg(main.kernel, argument, MemoryLayout<cl_mem?>.size, &value), "clSetKernelArg")
    }

    var steps: [Step] { weightSteps + [main] }

    /// Enqueues every step on `queue` (no wait).
    func enqueue(on queue: cl_command_queue) throws(OpenCLError) {
        for step in steps { try step.enqueue(on: queue, waitingFor: [], event: nil) }
    }
}

extension KernelLaunch.Step {
    /// Enqueues the kernel after `events`, storing its event in `event` when given.
    func enqueue(on queue: cl_command_queue, waitingFor events: [cl_event],
                 event: UnsafeMutablePointer<cl_event?>?) throws(OpenCLError) {
        let waits: [cl_event?] = events
        try clCheck(clEnqueueNDRangeKernel(queue, kernel, cl_uint(global.count), nil, global, local, cl_uint(waits.count),
                                           waits.isEmpty ? nil : waits, event), "clEnqueueNDRangeKernel")
    }
}
