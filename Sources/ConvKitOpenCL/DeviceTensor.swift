import COpenCL
import ConvKitCore

/// A float32 `NCHW` tensor that lives in an OpenCL buffer on one device.
///
/// Made by ``OpenCLBackend/upload(_:as:on:)`` or returned by the device-side operations
/// (``OpenCLBackend/convolve(_:weights:bias:descriptor:)``,
/// ``OpenCLBackend/pool(_:descriptor:)``), which enqueue their kernel and return at once.
/// The tensor carries the event of the command that writes it; later commands list that
/// event in their wait list, and ``download()`` waits for it, so host code can chain
/// operations without a round trip. ``wait()`` blocks until the contents are ready.
///
/// Immutable once made (an operation always writes a new tensor), hence `Sendable`; the
/// buffer and event are released in `deinit`. OpenCL keeps a released buffer alive until
/// the commands that use it have finished, so dropping an input while a kernel that
/// reads it is still queued is safe.
public final class DeviceTensor: @unchecked Sendable, CustomStringConvertible {
    /// What an upload carries, for the backend's ``OpenCLTransferCounter``.
    public enum Contents: Sendable {
        /// Feature maps: counted as an activation upload.
        case activations
        /// Weights or a bias: counted as a parameter upload.
        case parameters
    }

    /// The tensor's dimensions.
    public let shape: TensorShape
    /// The in-order queue its writer ran on; operations reading this tensor go there too.
    public let stream: OpenCLStream
    let buffer: cl_mem
    /// The command that writes the buffer, or `nil` when nothing is pending.
    let event: cl_event?
    /// The counter of the backend that made the tensor; ``download()`` counts on it.
    let counter: OpenCLTransferCounter

    /// Takes ownership of `buffer` and `event` (both released in `deinit`).
    init(shape: TensorShape, stream: OpenCLStream, buffer: cl_mem, event: cl_event?, counter: OpenCLTransferCounter) {
        self.shape = shape
        self.stream = stream
        self.buffer = buffer
        self.event = event
        self.counter = counter
    }

    deinit {
        if let event { clReleaseEvent(event) }
        clReleaseMemObject(buffer)
    }

    /// The device holding the buffer.
    var device: OpenCLDeviceContext { stream.device }

    /// `shape.elementCount`.
    public var elementCount: Int { shape.elementCount }

    /// Whether the command writing the tensor has completed (never blocks).
    public var isReady: Bool {
        guard let event else { return true }
        var status: cl_int = 0
        let query = clGetEventInfo(event, cl_event_info(CL_EVENT_COMMAND_EXECUTION_STATUS), MemoryLayout<cl_int>.size,
                                   &status, nil)
        return query == CL_SUCCESS && status == CL_COMPLETE
    }

    /// Blocks until the command writing the tensor has completed.
    ///
    /// - Throws: ``OpenCLError`` when the command failed (a negative execution status).
    public func wait() throws(OpenCLError) {
        guard let event else { return }
        var events: [cl_event?] = [event]
        try clCheck(clWaitForEvents(1, &events), "clWaitForEvents")
    }

    /// Copies the tensor to the host, after waiting for the command that writes it.
    ///
    /// A blocking read (so no host memory is referenced after return), counted as one
    /// download on the counter of the backend that made the tensor.
    ///
    /// - Throws: ``OpenCLError`` when the read or a command before it failed.
    public func download() throws -> Tensor {
        var output = try Tensor(zeros: shape)
        try output.withUnsafeMutableBufferPointer { try download(into: $0) }
        return output
    }

    /// A blocking read of the whole tensor into `output` (`elementCount` floats), waiting
    /// on ``event``; counted as one download.
    func download(into output: UnsafeMutableBufferPointer<Float>) throws(OpenCLError) {
        var readEvent: cl_event?
        let waits: [cl_event?] = event.map { [$0] } ?? []
        try clCheck(clEnqueueReadBuffer(stream.queue, buffer, cl_bool(CL_TRUE), 0, output.count * MemoryLayout<Float>.size,
                                        output.baseAddress, cl_uint(waits.count), waits.isEmpty ? nil : waits,
                                        &readEvent), "clEnqueueReadBuffer")
        counter.record(.download)
        if let readEvent {
            stream.record(.download, readEvent)
            clReleaseEvent(readEvent)
        }
    }

    /// `DeviceTensor(2×3×8×8 on NAME)`.
    public var description: String { "DeviceTensor(\(shape) on \(stream.deviceName))" }
}

/// A caller mistake specific to device tensors (shape mistakes are ``ConvolutionError``s).
public enum DeviceTensorError: Error, Hashable, Sendable, CustomStringConvertible {
    /// A tensor lives on another device (or another OpenCL context) than the backend.
    case foreignDevice(parameter: String, expected: String, actual: String)
    /// ``OpenCLStream/takeProfile()`` on a stream made without profiling.
    case profilingDisabled

    /// A one-line explanation.
    public var description: String {
        switch self {
        case let .foreignDevice(parameter, expected, actual):
            "\(parameter) lives on \(actual), not on this backend's device \(expected)"
        case .profilingDisabled:
            "this OpenCL stream was made without profiling: use OpenCLBackend.makeStream(profiling: true)"
        }
    }
}
