import COpenCL
import Foundation
import Logging

let logger = Logger(label: "convkit.opencl")

/// Where a program handed out by the cache came from.
enum ProgramOrigin: Hashable, Sendable {
    /// Already built in this process.
    case memory
    /// Loaded from a cached binary.
    case disk
    /// Compiled from source (and then stored on disk, when the cache is on).
    case source
}

/// Builds one program for one device: from the disk cache when a valid binary is there,
/// from source otherwise.
struct ProgramBuilder {
    let device: OpenCLDeviceContext
    let disk: DiskProgramCache?

    func build(_ file: KernelFile, source: String, options: String) throws(OpenCLError) -> (cl_program, ProgramOrigin) {
        let name = disk.map { $0.fileName(file: file, source: source, options: options, device: device.info) }
        if let disk, let name, let binary = disk.load(name) {
            let start = ContinuousClock.now
            if let program = fromBinary(binary, options: options) {
                logger.debug("OpenCL disk cache hit: \(file) \(options) from \(disk.directory.path)/\(name) in \(Self.milliseconds(since: start)) ms")
                return (program, .disk)
            }
            logger.info("OpenCL disk cache entry \(name) is unusable; compiling \(file) from source")
        }
        let start = ContinuousClock.now
        let program = try fromSource(file, source: source, options: options)
        logger.info("OpenCL built \(file) \(options) for \(device.info.name) in \(Self.milliseconds(since: start)) ms")
        if let disk, let name, let binary = binary(of: program) {
            disk.store(binary, as: name, logger: logger)
        }
        return (program, .source)
    }

    private func fromSource(_ file: KernelFile, source: String, options: String) throws(OpenCLError) -> cl_program {
        var status: cl_int = 0
        let created: cl_program? = source.withCString { text in
            var pointer: UnsafePointer<CChar>? = text
            var length = strlen(text)
            return clCreateProgramWithSource(device.context, 1, &pointer, &length, &status)
        }
        try clCheck(status, "clCreateProgramWithSource")
        guard let program = created else { throw .call(function: "clCreateProgramWithSource", code: Int32(CL_OUT_OF_HOST_MEMORY)) }
        var target: cl_device_id? = device.device
        let built = clBuildProgram(program, 1, &target, options, nil, nil)
        guard built == CL_SUCCESS else {
            let log = buildLog(program)
            clReleaseProgram(program)
            throw .buildFailed(file: file.rawValue, options: options, code: built, log: log)
        }
        // The compiler's warnings, for whoever edits the kernels (CONVKIT_LOG_LEVEL=debug).
        let log = buildLog(program).trimmingCharacters(in: .whitespacesAndNewlines)
        if !log.isEmpty { logger.debug("OpenCL build log of \(file.rawValue) \(options):\n\(log)") }
        return program
    }

    /// A program from a cached binary, or `nil` for any failure (the caller compiles).
    private func fromBinary(_ binary: [UInt8], options: String) -> cl_program? {
        var status: cl_int = 0
        var binaryStatus: cl_int = 0
        var target: cl_device_id? = device.device
        var length = binary.count
        let created: cl_program? = binary.withUnsafeBufferPointer { bytes in
            var pointer: UnsafePointer<UInt8>? = bytes.baseAddress
            return clCreateProgramWithBinary(device.context, 1, &target, &length, &pointer, &binaryStatus, &status)
        }
        guard let program = created else { return nil }
        guard status == CL_SUCCESS, binaryStatus == CL_SUCCESS,
              clBuildProgram(program, 1, &target, options, nil, nil) == CL_SUCCESS else {
            clReleaseProgram(program)
            return nil
        }
        return program
    }

    private func binary(of program: cl_program) -> [UInt8]? {
        var size = 0
        guard clGetProgramInfo(program, cl_program_info(CL_PROGRAM_BINARY_SIZES), MemoryLayout<Int>.size, &size, nil)
            == CL_SUCCESS, size > 0 else { return nil }
        var bytes = [UInt8](repeating: 0, count: size)
        let status = bytes.withUnsafeMutableBufferPointer { buffer in
            var pointer: UnsafeMutablePointer<UInt8>? = buffer.baseAddress
            return clGetProgramInfo(program, cl_program_info(CL_PROGRAM_BINARIES),
                                    MemoryLayout<UnsafeMutablePointer<UInt8>?>.size, &pointer, nil)
        }
        return status == CL_SUCCESS ? bytes : nil
    }

    private func buildLog(_ program: cl_program) -> String {
        let log = try? queryString("clGetProgramBuildInfo") {
            clGetProgramBuildInfo(program, device.device, cl_program_build_info(CL_PROGRAM_BUILD_LOG), $0, $1, $2)
        }
        return log ?? "(no build log available)"
    }

    private static func milliseconds(since start: ContinuousClock.Instant) -> String {
        let elapsed = ContinuousClock.now - start
        let ms = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
        return String(format: "%.1f", ms)
    }
}
