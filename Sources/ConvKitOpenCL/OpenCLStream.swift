import COpenCL
import Foundation

/// One in-order OpenCL command queue on one device, for ``DeviceTensor`` work.
///
/// Every operation on device tensors is enqueued on the stream of its input and returns
/// without waiting; because the queue is in-order, and because each command also lists
/// the events of the tensors it reads, results are ready when a later command or a
/// download runs. ``finish()`` waits for everything enqueued so far.
///
/// With `profiling`, the queue is created with `CL_QUEUE_PROFILING_ENABLE` and every
/// command's event is kept until ``takeProfile()`` reads and clears them.
///
/// Thread-safe: enqueueing on one queue from several threads is allowed by OpenCL, and
/// the profiling record is guarded by a lock.
public final class OpenCLStream: @unchecked Sendable {
    /// Whether commands are timed.
    public let profiling: Bool
    let device: OpenCLDeviceContext
    let queue: cl_command_queue
    private let lock = NSLock()
    private var recorded: [(OpenCLProfile.CommandKind, cl_event)] = []

    init(on device: OpenCLDeviceContext, profiling: Bool) throws(OpenCLError) {
        var status: cl_int = 0
        let properties = profiling ? cl_command_queue_properties(CL_QUEUE_PROFILING_ENABLE) : 0
        let queue = clCreateCommandQueue(device.context, device.device, properties, &status)
        try clCheck(status, "clCreateCommandQueue")
        guard let queue else { throw .call(function: "clCreateCommandQueue", code: Int32(CL_OUT_OF_RESOURCES)) }
        self.device = device
        self.queue = queue
        self.profiling = profiling
    }

    deinit {
        clFinish(queue)
        recorded.forEach { clReleaseEvent($0.1) }
        clReleaseCommandQueue(queue)
    }

    /// The device's name.
    public var deviceName: String { device.info.name }

    /// Blocks until every command enqueued so far has completed.
    public func finish() throws(OpenCLError) {
        try clCheck(clFinish(queue), "clFinish")
    }

    /// Waits for every recorded command, then returns their timings and forgets them.
    ///
    /// - Throws: ``DeviceTensorError/profilingDisabled`` on a stream made without
    ///   profiling; ``OpenCLError`` when waiting or a query fails.
    public func takeProfile() throws -> OpenCLProfile {
        guard profiling else { throw DeviceTensorError.profilingDisabled }
        try finish()
        let taken = lock.withLock {
            defer { recorded.removeAll() }
            return recorded
        }
        defer { taken.forEach { clReleaseEvent($0.1) } }
        var commands: [OpenCLProfile.Command] = []
        for (kind, event) in taken { commands.append(try OpenCLProfile.Command(kind: kind, event: event)) }
        return OpenCLProfile(commands: commands)
    }

    /// Keeps `event` for the profile (retained) when profiling is on.
    func record(_ kind: OpenCLProfile.CommandKind, _ event: cl_event) {
        guard profiling else { return }
        clRetainEvent(event)
        lock.withLock { recorded.append((kind, event)) }
    }

    /// The device's shared stream (no profiling), created on first use and kept for the
    /// process, like the device's context.
    static func shared(on device: OpenCLDeviceContext) throws(OpenCLError) -> OpenCLStream {
        try SharedStreams.instance.stream(on: device)
    }
}

/// One default stream per device context.
private final class SharedStreams: @unchecked Sendable {
    static let instance = SharedStreams()
    private let lock = NSLock()
    private var streams: [ObjectIdentifier: OpenCLStream] = [:]

    func stream(on device: OpenCLDeviceContext) throws(OpenCLError) -> OpenCLStream {
        lock.lock()
        defer { lock.unlock() }
        if let stream = streams[ObjectIdentifier(device)] { return stream }
        let made = try OpenCLStream(on: device, profiling: false)
        streams[ObjectIdentifier(device)] = made
        return made
    }
}
