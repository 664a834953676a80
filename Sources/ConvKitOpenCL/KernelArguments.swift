import COpenCL

/// Sets a kernel's arguments in declaration order, so no call site numbers them.
///
/// Each `append` takes the next index; the order must follow the "Arguments" list in the
/// kernel file's header. A failure names the argument, not just its index.
struct KernelArguments {
    private let kernel: cl_kernel
    private(set) var count: cl_uint = 0

    init(_ kernel: cl_kernel) { self.kernel = kernel }

    /// A `__global` buffer argument.
    mutating func append(_ buffer: cl_mem, _ name: StaticString) throws(OpenCLError) {
        var value: cl_mem? = buffer
        try set(MemoryLayout<cl_mem?>.size, &value, name)
    }

    /// An `int` argument; the caller has checked that `value` fits (``OpenCLBackend``'s
    /// support rules keep every dimension within `Int32`).
    mutating func append(_ value: Int, _ name: StaticString) throws(OpenCLError) {
        var scalar = cl_int(truncatingIfNeeded: value)
        try set(MemoryLayout<cl_int>.size, &scalar, name)
    }

    /// A `float` argument.
    mutating func append(_ value: Float, _ name: StaticString) throws(OpenCLError) {
        var scalar = cl_float(value)
        try set(MemoryLayout<cl_float>.size, &scalar, name)
    }

    /// A `__local` buffer of `bytes` bytes.
    mutating func appendLocal(bytes: Int, _ name: StaticString) throws(OpenCLError) {
        let status = clSetKernelArg(kernel, count, bytes, nil)
        try check(status, name)
    }

    private mutating func set(_ size: Int, _ value: UnsafeRawPointer, _ name: StaticString) throws(OpenCLError) {
        try check(clSetKernelArg(kernel, count, size, value), name)
    }

    private mutating func check(_ status: cl_int, _ name: StaticString) throws(OpenCLError) {
        guard status == CL_SUCCESS else {
            throw .call(function: "clSetKernelArg(\(count): \(name))", code: status)
        }
        count += 1
    }
}
