import COpenCL
import Foundation

/// One device with its context, created once per process and never released.
///
/// `cl_context` and `cl_program` are thread-safe OpenCL objects, so sharing them is
/// sound; what is not (kernels while their arguments are set, queues in flight) is
/// created per call by the backend.
final class OpenCLDeviceContext: @unchecked Sendable {
    let device: cl_device_id
    let context: cl_context
    let info: OpenCLDeviceInfo
    /// Compiled programs of this device, shared by every backend on it.
    let programs: ProgramCache

    init(device: cl_device_id, info: OpenCLDeviceInfo) throws(OpenCLError) {
        var status: cl_int = 0
        var device = Optional(device)
        guard let context = clCreateContext(nil, 1, &device, nil, nil, &status) else {
            throw .call(function: "clCreateContext", code: status == CL_SUCCESS ? Int32(CL_INVALID_CONTEXT) : status)
        }
        try clCheck(status, "clCreateContext")
        self.device = device!
        self.context = context
        self.info = info
        programs = ProgramCache()
    }

    /// A new in-order queue; the caller releases it.
    func makeQueue() throws(OpenCLError) -> cl_command_queue {
        var status: cl_int = 0
        let queue = clCreateCommandQueue(context, device, 0, &status)
        try clCheck(status, "clCreateCommandQueue")
        guard let queue else { throw .call(function: "clCreateCommandQueue", code: Int32(CL_OUT_OF_RESOURCES)) }
        return queue
    }
}
