import COpenCL

/// A failure of the OpenCL runtime, a device or a kernel build.
///
/// Every case carries what is needed to act on it without a debugger: the failing
/// function with its numeric status and `CL_...` name, or the kernel file, build options
/// and compiler log.
public enum OpenCLError: Error, Hashable, Sendable, CustomStringConvertible {
    /// An OpenCL API call returned a status other than `CL_SUCCESS`.
    case call(function: String, code: Int32)
    /// The ICD loader found platforms, but none of them has a device.
    case noDevice(platformCount: Int)
    /// ``OpenCLBackend/init(deviceIndex:kernel:kernels:cache:)`` named a device that does not exist.
    case deviceIndexOutOfRange(index: Int, deviceCount: Int)
    /// A kernel file could not be read (only possible with a kernels directory on disk).
    case kernelSourceUnavailable(file: String, location: String, reason: String)
    /// `clBuildProgram` rejected a kernel file; `log` is the compiler's build log.
    case buildFailed(file: String, options: String, code: Int32, log: String)

    /// The status code's `CL_...` name, e.g. `CL_BUILD_PROGRAM_FAILURE` for -11.
    public static func codeName(_ code: Int32) -> String { OpenCLErrorCodes.name(for: code) }

    /// The numeric OpenCL status, where the error has one.
    public var code: Int32? {
        switch self {
        case let .call(_, code), let .buildFailed(_, _, code, _): code
        case .noDevice: Int32(CL_DEVICE_NOT_FOUND)
        case .deviceIndexOutOfRange, .kernelSourceUnavailable: nil
        }
    }

    /// A self-contained explanation, with an installation hint when no platform exists.
    public var description: String {
        switch self {
        case let .call(function, code) where code == -1001:
            "\(function) failed: \(code) (\(Self.codeName(code))): no OpenCL platform is installed. "
                + Self.installHint
        case let .call(function, code):
            "\(function) failed: \(code) (\(Self.codeName(code)))"
        case let .noDevice(platformCount):
            "no OpenCL device found on \(platformCount) platform(s). " + Self.installHint
        case let .deviceIndexOutOfRange(index, deviceCount):
            "OpenCL device index \(index) is out of range: \(deviceCount) device(s) found"
        case let .kernelSourceUnavailable(file, location, reason):
            "cannot read OpenCL kernel \(file) from \(location): \(reason)"
        case let .buildFailed(file, options, code, log):
            "building OpenCL kernel \(file) failed: \(code) (\(Self.codeName(code)))\n"
                + "options: \(options.isEmpty ? "(none)" : options)\nbuild log:\n\(log)"
        }
    }

    private static let installHint =
        "Install an OpenCL driver (on Debian/Ubuntu for the CPU: `apt-get install pocl-opencl-icd`) "
        + "and check it with `clinfo -l`."
}

/// Throws ``OpenCLError/call(function:code:)`` unless `status` is `CL_SUCCESS`.
@inline(__always)
func clCheck(_ status: cl_int, _ function: StaticString) throws(OpenCLError) {
    guard status == CL_SUCCESS else { throw .call(function: "\(function)", code: status) }
}
