/// What kind of processor a backend runs on.
public enum DeviceKind: String, Hashable, Sendable, CustomStringConvertible {
    /// The host CPU (ConvKit's own kernels, or an OpenCL CPU device such as PoCL).
    case cpu
    /// A discrete GPU.
    case gpu
    /// A GPU sharing memory with the host.
    case integratedGPU
    /// Another OpenCL accelerator.
    case accelerator

    /// The lower-case name.
    public var description: String { rawValue }
}

/// A description of the hardware behind a backend.
public struct ComputeDevice: Hashable, Sendable {
    /// The kind of processor.
    public var kind: DeviceKind
    /// The device name as the driver reports it.
    public var name: String
    /// The vendor name.
    public var vendor: String
    /// Compute units (CPU cores for the CPU backend).
    public var computeUnits: Int
    /// Global memory in bytes, or `nil` when unknown.
    public var memoryBytes: UInt64?
    /// The OpenCL version string, for OpenCL devices.
    public var openCLVersion: String?

    /// Creates a device description.
    public init(kind: DeviceKind, name: String, vendor: String, computeUnits: Int,
                memoryBytes: UInt64? = nil, openCLVersion: String? = nil) {
        self.kind = kind
        self.name = name
        self.vendor = vendor
        self.computeUnits = computeUnits
        self.memoryBytes = memoryBytes
        self.openCLVersion = openCLVersion
    }
}

/// Whether a backend can run a problem, and if not, why.
public enum BackendSupport: Hashable, Sendable {
    /// The backend computes this geometry.
    case supported
    /// The backend cannot; the reason is meant for people (`"groups > 1 needs ..."`).
    case unsupported(reason: String)

    /// Whether the case is ``supported``.
    public var isSupported: Bool { self == .supported }
}
