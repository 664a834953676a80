import COpenCL
import ConvKitCore

/// Everything ConvKit reads about one OpenCL device, captured once at discovery.
///
/// A plain value: it stays valid and printable after the runtime is gone, which is what
/// `convkit devices` and the dispatcher need.
public struct OpenCLDeviceInfo: Hashable, Sendable, CustomStringConvertible {
    /// The position in the flat device list across all platforms, as passed to
    /// ``OpenCLBackend/init(deviceIndex:kernel:kernels:cache:)``.
    public var index: Int
    /// `CL_DEVICE_NAME`.
    public var name: String
    /// `CL_DEVICE_VENDOR`.
    public var vendor: String
    /// The device type mapped onto ConvKit's kinds (an integrated GPU is one that shares
    /// host memory, `CL_DEVICE_HOST_UNIFIED_MEMORY`).
    public var kind: DeviceKind
    /// `CL_DEVICE_VERSION`, e.g. `OpenCL 3.0 PoCL ...`.
    public var openCLVersion: String
    /// `CL_DRIVER_VERSION`.
    public var driverVersion: String
    /// `CL_PLATFORM_NAME` of the owning platform.
    public var platformName: String
    /// `CL_PLATFORM_VERSION` of the owning platform.
    public var platformVersion: String
    /// `CL_DEVICE_MAX_COMPUTE_UNITS`.
    public var computeUnits: Int
    /// `CL_DEVICE_MAX_WORK_GROUP_SIZE`.
    public var maxWorkGroupSize: Int
    /// `CL_DEVICE_MAX_WORK_ITEM_SIZES`, one entry per dimension.
    public var maxWorkItemSizes: [Int]
    /// `CL_DEVICE_LOCAL_MEM_SIZE` in bytes.
    public var localMemoryBytes: UInt64
    /// `CL_DEVICE_GLOBAL_MEM_SIZE` in bytes.
    public var globalMemoryBytes: UInt64
    /// `CL_DEVICE_MAX_MEM_ALLOC_SIZE` in bytes: the largest single buffer.
    public var maxAllocationBytes: UInt64
    /// `CL_DEVICE_PREFERRED_VECTOR_WIDTH_FLOAT`.
    public var preferredFloatVectorWidth: Int
    /// `CL_DEVICE_EXTENSIONS`, split on spaces.
    public var extensions: [String]
    /// Whether `CL_DEVICE_SINGLE_FP_CONFIG` has `CL_FP_CORRECTLY_ROUNDED_DIVIDE_SQRT`, so
    /// programs may be built with `-cl-fp32-correctly-rounded-divide-sqrt`.
    public var correctlyRoundedDivide: Bool = false
    /// `CL_DEVICE_HOST_UNIFIED_MEMORY`: the device reads and writes host memory itself
    /// (CPU devices such as PoCL, integrated GPUs), so one-shot calls wrap the caller's
    /// arrays (`CL_MEM_USE_HOST_PTR`) instead of copying them.
    public var hostUnifiedMemory: Bool = false

    /// Whether the device supports half precision (`cl_khr_fp16`).
    public var supportsFP16: Bool { extensions.contains("cl_khr_fp16") }

    /// The summary ``ConvolutionBackend/device`` reports.
    public var computeDevice: ComputeDevice {
        ComputeDevice(kind: kind, name: name, vendor: vendor, computeUnits: computeUnits,
                      memoryBytes: globalMemoryBytes, openCLVersion: openCLVersion)
    }

    /// `#0 name (kind, platform)`.
    public var description: String { "#\(index) \(name) (\(kind), \(platformName))" }
}

extension OpenCLDeviceInfo {
    /// Queries every property of `device`; any failing query throws, naming the query.
    init(index: Int, device: cl_device_id, platform: cl_platform_id) throws(OpenCLError) {
        let type: cl_device_type = try Self.scalar(device, CL_DEVICE_TYPE)
        let unified: cl_bool = try Self.scalar(device, CL_DEVICE_HOST_UNIFIED_MEMORY)
        self.index = index
        name = try Self.string(device, CL_DEVICE_NAME)
        vendor = try Self.string(device, CL_DEVICE_VENDOR)
        kind = Self.kind(type: type, unifiedMemory: unified != 0)
        openCLVersion = try Self.string(device, CL_DEVICE_VERSION)
        driverVersion = try Self.string(device, CL_DRIVER_VERSION)
        platformName = try Self.platformString(platform, CL_PLATFORM_NAME)
        platformVersion = try Self.platformString(platform, CL_PLATFORM_VERSION)
        computeUnits = Int(try Self.scalar(device, CL_DEVICE_MAX_COMPUTE_UNITS) as cl_uint)
        maxWorkGroupSize = try Self.scalar(device, CL_DEVICE_MAX_WORK_GROUP_SIZE) as Int
        let dimensions = Int(try Self.scalar(device, CL_DEVICE_MAX_WORK_ITEM_DIMENSIONS) as cl_uint)
        var sizes = [Int](repeating: 0, count: dimensions)
        try clCheck(clGetDeviceInfo(device, cl_device_info(CL_DEVICE_MAX_WORK_ITEM_SIZES),
                                    dimensions * MemoryLayout<Int>.size, &sizes, nil),
                    "clGetDeviceInfo(CL_DEVICE_MAX_WORK_ITEM_SIZES)")
        maxWorkItemSizes = sizes
        localMemoryBytes = try Self.scalar(device, CL_DEVICE_LOCAL_MEM_SIZE)
        globalMemoryBytes = try Self.scalar(device, CL_DEVICE_GLOBAL_MEM_SIZE)
        maxAllocationBytes = try Self.scalar(device, CL_DEVICE_MAX_MEM_ALLOC_SIZE)
        preferredFloatVectorWidth = Int(try Self.scalar(device, CL_DEVICE_PREFERRED_VECTOR_WIDTH_FLOAT) as cl_uint)
        extensions = try Self.string(device, CL_DEVICE_EXTENSIONS).split(separator: " ").map(String.init)
        let floatConfig: cl_device_fp_config = try Self.scalar(device, CL_DEVICE_SINGLE_FP_CONFIG)
        correctlyRoundedDivide = floatConfig & cl_device_fp_config(CL_FP_CORRECTLY_ROUNDED_DIVIDE_SQRT) != 0
        hostUnifiedMemory = unified != 0
    }

    private static func kind(type: cl_device_type, unifiedMemory: Bool) -> DeviceKind {
        if type & cl_device_type(CL_DEVICE_TYPE_GPU) != 0 { return unifiedMemory ? .integratedGPU : .gpu }
        if type & cl_device_type(CL_DEVICE_TYPE_CPU) != 0 { return .cpu }
        return .accelerator
    }

    private static func scalar<T: FixedWidthInteger>(_ device: cl_device_id, _ parameter: Int32) throws(OpenCLError) -> T {
        var value: T = 0
        try clCheck(clGetDeviceInfo(device, cl_device_info(parameter), MemoryLayout<T>.size, &value, nil),
                    "clGetDeviceInfo")
        return value
    }

    private static func string(_ device: cl_device_id, _ parameter: Int32) throws(OpenCLError) -> String {
        try queryString("clGetDeviceInfo") { clGetDeviceInfo(device, cl_device_info(parameter), $0, $1, $2) }
    }

    private static func platformString(_ platform: cl_platform_id, _ parameter: Int32) throws(OpenCLError) -> String {
        try queryString("clGetPlatformInfo") { clGetPlatformInfo(platform, cl_platform_info(parameter), $0, $1, $2) }
    }
}

/// Runs an OpenCL `clGet...Info` query twice (size, then bytes) and decodes the C string.
func queryString(_ function: StaticString,
                 _ query: (Int, UnsafeMutableRawPointer?, UnsafeMutablePointer<Int>?) -> cl_int) throws(OpenCLError) -> String {
    var size = 0
    try clCheck(query(0, nil, &size), function)
    guard size > 0 else { return "" }
    var bytes = [UInt8](repeating: 0, count: size)
    try clCheck(bytes.withUnsafeMutableBytes { query(size, $0.baseAddress, nil) }, function)
    let end = bytes.firstIndex(of: 0) ?? bytes.endIndex
    return String(decoding: bytes[..<end], as: UTF8.self).trimmingSpaces()
}

extension String {
    /// Drivers pad some strings (PoCL's version strings) with trailing spaces.
    func trimmingSpaces() -> String {
        var text = Substring(self)
        while text.last == " " || text.last == "\n" { text = text.dropLast() }
        while text.first == " " { text = text.dropFirst() }
        return String(text)
    }
}
