import COpenCL
import Foundation

/// The result of looking for OpenCL devices: what was found, and why nothing (more) was.
public struct OpenCLDiscovery: Sendable {
    /// Every usable device, in flat order across platforms (``OpenCLDeviceInfo/index``).
    public var devices: [OpenCLDeviceInfo]
    /// Why discovery stopped or found nothing: no platform (-1001, with install hint), no
    /// device, or a failing query. `nil` when every platform was enumerated cleanly.
    public var failure: OpenCLError?
}

/// The process-wide OpenCL state: platforms, devices and one context per device.
///
/// Discovery and context creation run once, serially, under a lock, on first use. That
/// is deliberate: PoCL fails intermittently (`CL_DEVICE_NOT_FOUND`,
/// `CL_INVALID_BUFFER_SIZE`) when several threads initialise it at once, which parallel
/// tests do. Everything created later (queues, kernels, buffers) is per call.
public enum OpenCLRuntime {
    /// Finds every OpenCL device, creating their contexts on the first call.
    ///
    /// Never throws: a machine without OpenCL is an expected configuration, so the reason
    /// is returned in ``OpenCLDiscovery/failure`` for the caller to show.
    public static func discover() -> OpenCLDiscovery {
        let state = registry.state
        return OpenCLDiscovery(devices: state.contexts.map(\.info), failure: state.failure)
    }

    /// The shared context of device `index` in the flat list.
    static func context(at index: Int) throws(OpenCLError) -> OpenCLDeviceContext {
        let state = registry.state
        guard state.contexts.indices.contains(index) else {
            if state.contexts.isEmpty, let failure = state.failure { throw failure }
            throw .deviceIndexOutOfRange(index: index, deviceCount: state.contexts.count)
        }
        return state.contexts[index]
    }

    private static let registry = Registry()
}

/// Lazily initialised, lock-protected discovery state.
private final class Registry: @unchecked Sendable {
    struct State {
        var contexts: [OpenCLDeviceContext]
        var failure: OpenCLError?
    }

    private let lock = NSLock()
    private var cached: State?

    var state: State {
        lock.lock()
        defer { lock.unlock() }
        if let cached { return cached }
        let fresh = Self.initialise()
        cached = fresh
        return fresh
    }

    private static func initialise() -> State {
        var contexts: [OpenCLDeviceContext] = []
        do {
            let platforms = try platformIDs()
            for platform in platforms {
                for device in try deviceIDs(platform) {
                    let info = try OpenCLDeviceInfo(index: contexts.count, device: device, platform: platform)
                    contexts.append(try OpenCLDeviceContext(device: device, info: info))
                }
            }
            return State(contexts: contexts, failure: contexts.isEmpty ? .noDevice(platformCount: platforms.count) : nil)
        } catch {
            return State(contexts: contexts, failure: error)
        }
    }

    private static func platformIDs() throws(OpenCLError) -> [cl_platform_id?] {
        var count: cl_uint = 0
        let status = clGetPlatformIDs(0, nil, &count)
        // The ICD loader reports "no platform" as -1001, some old loaders as success with 0.
        if status == CL_SUCCESS && count == 0 { throw .call(function: "clGetPlatformIDs", code: -1001) }
        try clCheck(status, "clGetPlatformIDs")
        var platforms = [cl_platform_id?](repeating: nil, count: Int(count))
        try clCheck(clGetPlatformIDs(count, &platforms, nil), "clGetPlatformIDs")
        return platforms
    }

    private static func deviceIDs(_ platform: cl_platform_id?) throws(OpenCLError) -> [cl_device_id] {
        var count: cl_uint = 0
        let status = clGetDeviceIDs(platform, cl_device_type(CL_DEVICE_TYPE_ALL), 0, nil, &count)
        // A platform without devices is not an error for the others.
        if status == CL_DEVICE_NOT_FOUND { return [] }
        try clCheck(status, "clGetDeviceIDs")
        var devices = [cl_device_id?](repeating: nil, count: Int(count))
        try clCheck(clGetDeviceIDs(platform, cl_device_type(CL_DEVICE_TYPE_ALL), count, &devices, nil), "clGetDeviceIDs")
        return devices.compactMap { $0 }
    }
}

extension OpenCLDeviceInfo {
    init(index: Int, device: cl_device_id, platform: cl_platform_id?) throws(OpenCLError) {
        guard let platform else { throw .call(function: "clGetPlatformIDs", code: Int32(CL_INVALID_PLATFORM)) }
        try self.init(index: index, device: device, platform: platform)
    }
}
