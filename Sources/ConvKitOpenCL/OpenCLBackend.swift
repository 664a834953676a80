import COpenCL
import ConvKitCore
import Foundation

/// Convolutions and pooling on one OpenCL device.
///
/// Cheap to create and safe to share between threads: the device's context and compiled
/// programs are process-wide (see ``OpenCLRuntime``); each call creates its own queue,
/// kernel object and buffers, so no `cl_kernel` is shared while its arguments are set.
/// Every valid geometry is supported up to the device's limits: all paddings, border
/// modes, fused activations, strides, dilations, groups (including depthwise), batch
/// sizes and bias; max, average and global pooling. ``prepare(_:)-(LayerChainPlan)``
/// keeps a layer chain's weights and feature maps on the device. Every host↔device copy
/// is counted in ``transferStatistics``.
public struct OpenCLBackend: ConvolutionBackend {
    /// `"opencl:N"`, with `N` the device index.
    public let name: String
    /// The device summary.
    public let device: ComputeDevice
    /// Everything discovery learned about the device.
    /// (Settable inside the module, so tests can shrink ``OpenCLDeviceInfo/maxAllocationBytes``.)
    public internal(set) var deviceInfo: OpenCLDeviceInfo
    /// Which kernel family this backend uses.
    public let kernelChoice: KernelChoice
    /// Where kernel source comes from (resolved: never ``KernelSourceLocation/default``).
    public let kernelSources: KernelSourceLocation
    /// The disk cache directory for compiled programs, or `nil` when it is off.
    public let cacheDirectory: URL?
    /// The tuning database read from ``cacheDirectory`` (``TuningDatabase/fileName``) when
    /// one is there and readable; `nil` means the heuristic decides.
    public let tuning: TuningDatabase?

    /// Counts every buffer transfer this backend (and its copies and chains) makes.
    public let transferCounter: OpenCLTransferCounter

    let context: OpenCLDeviceContext

    /// Tests and the tuner: the configuration every convolution uses where it can run
    /// (``KernelConfiguration/canRun(_:on:)``), whatever `kernelChoice` says.
    var forcedConfiguration: KernelConfiguration?

    /// Whether one-shot calls copy the caller's arrays to device buffers and read the result
    /// back (discrete devices), rather than wrap them (``OpenCLDeviceInfo/hostUnifiedMemory``).
    /// `CONVKIT_OPENCL_COPY=1` forces copies, and the cross-check grid sets it for one
    /// kernel family, so the copying path runs on PoCL too.
    var copiesHostArrays: Bool

    /// The transfers made so far: activation and parameter uploads, downloads.
    public var transferStatistics: OpenCLTransferStatistics { transferCounter.statistics }

    /// Opens device `deviceIndex` of the flat list ``OpenCLRuntime/discover()`` returns.
    ///
    /// - Parameters:
    ///   - deviceIndex: The device's ``OpenCLDeviceInfo/index`` (default 0, the first).
    ///   - kernel: The kernel family (default ``KernelChoice/auto``).
    ///   - kernels: Where `.cl` text comes from (default: `CONVKIT_KERNELS_DIR` or the
    ///     copy inside the library).
    ///   - cache: Where compiled binaries are kept (default: `CONVKIT_CACHE_DIR` or the
    ///     user cache directory). Tests pass a directory, since environment variables are
    ///     process-wide.
    /// - Throws: ``OpenCLError`` when discovery failed or the index does not exist.
    public init(deviceIndex: Int = 0, kernel: KernelChoice = .auto,
                kernels: KernelSourceLocation = .default, cache: ProgramCacheLocation = .default) throws(OpenCLError) {
        context = try OpenCLRuntime.context(at: deviceIndex)
        deviceInfo = context.info
        device = context.info.computeDevice
        name = "opencl:\(deviceIndex)"
        kernelChoice = kernel
        kernelSources = kernels.resolved
        cacheDirectory = cache.resolvedDirectory
        tuning = cacheDirectory.flatMap { TuningDatabase.load(from: $0) }
        transferCounter = OpenCLTransferCounter()
        copiesHostArrays = !context.info.hostUnifiedMemory || ProcessInfo.processInfo.environment["CONVKIT_OPENCL_COPY"] == "1"
    }

    /// The kernel and launch shape ``execute(_:input:weights:bias:output:)`` uses for
    /// `geometry`, so callers can show or test the choice.
    public func configuration(for geometry: ConvolutionGeometry) -> KernelConfiguration {
        if let forced = forcedConfiguration, forced.canRun(geometry, on: deviceInfo) { return forced }
        return KernelConfiguration.choose(for: geometry, on: deviceInfo, choice: kernelChoice, tuning: tuning)
    }

    /// Every kernel configuration this backend can choose on its device (convolution and
    /// pooling).
    public var configurations: [KernelConfiguration] {
        KernelConfiguration.variants(for: deviceInfo).filter { variant in
            switch kernelChoice {
            case .direct: variant.file == .direct || variant.file == .pool
            case .tiled: [.direct, .tiled, .pool].contains(variant.file)
            case .igemm: [.direct, .igemm, .pool].contains(variant.file)
            case .auto: true
            }
        }
    }

    /// Builds (or loads) every program in ``configurations`` now, so a first convolution
    /// does not pay for compilation.
    ///
    /// - Throws: ``OpenCLError/buildFailed(file:options:code:log:)`` for a kernel that does
    ///   not compile.
    public func prepare() throws(OpenCLError) {
        for configuration in configurations { _ = try program(for: configuration) }
    }

    /// Supported unless a dimension leaves the kernels' `int` range, or a buffer exceeds the
    /// device's largest allocation and the call cannot be split over batch or output
    /// channels (see `OpenCLBackend+Split.swift`).
    public func support(for geometry: ConvolutionGeometry) -> BackendSupport {
        splitSupport(for: geometry, whole: residentSupport(for: geometry))
    }

    /// Supported unless a dimension leaves the kernels' `int` range or a buffer exceeds the
    /// device's largest allocation: whole buffers, as layer chains and device tensors need.
    func residentSupport(for geometry: ConvolutionGeometry) -> BackendSupport {
        let dimensions = geometry.input.dimensions + geometry.filter.dimensions + geometry.output.dimensions
        let products = [geometry.output.batch * geometry.output.channels,
                        geometry.input.height * geometry.input.width, geometry.output.height * geometry.output.width]
        var buffers = [("input", geometry.input), ("weights", geometry.filter), ("output", geometry.output)]
        if let packed = packedFilterShape(geometry) { buffers.append(("repacked weights", packed)) }
        return supportedSizes(dimensions + products, buffers: buffers)
    }

    /// When the kernel ``configuration(for:)`` chooses reads repacked filters (gemm1x1, and
    /// igemm without local tiles: the CPU candidates, any filter size), the repack's shape
    /// (`packFiltersStep`: filters padded to a whole `RM` block per group): that scratch
    /// buffer must fit one allocation too. `nil` when the filters are read in place.
    func packedFilterShape(_ geometry: ConvolutionGeometry) -> TensorShape? {
        let configuration = configuration(for: geometry)
        guard configuration.readsPackedFilters else { return nil }
        let kg = KernelConfiguration.roundUp(geometry.outputChannelsPerGroup, to: configuration.channelBlock)
        let filter = geometry.filter
        return TensorShape(geometry.groups * kg, filter.channels, filter.height, filter.width)
    }

    /// `.unsupported` when a size leaves `int` or a buffer exceeds the largest allocation.
    func supportedSizes(_ sizes: [Int], buffers: [(String, TensorShape)]) -> BackendSupport {
        if let large = sizes.first(where: { $0 > Int(Int32.max) }) {
            return .unsupported(reason: "a size of \(large) exceeds the OpenCL kernels' 32-bit int range")
        }
        for (label, shape) in buffers {
            let (bytes, overflow) = shape.elementCount.multipliedReportingOverflow(by: MemoryLayout<Float>.size)
            if overflow || UInt64(bytes) > deviceInfo.maxAllocationBytes {
                return .unsupported(reason: "the \(label) buffer (\(shape)) exceeds \(deviceInfo.name)'s largest "
                                    + "allocation of \(deviceInfo.maxAllocationBytes) bytes")
            }
        }
        return .supported
    }

    func program(for configuration: KernelConfiguration) throws(OpenCLError) -> (cl_program, ProgramOrigin) {
        try context.programs.program(configuration, on: context, sources: kernelSources,
                                     disk: cacheDirectory.map { DiskProgramCache(directory: $0) })
    }
}

extension OpenCLBackend {
    /// The kernel entry point and its register block, e.g. `conv2d_tiled k4 3x3`.
    public func algorithmName(for geometry: ConvolutionGeometry) -> String {
        let chosen = configuration(for: geometry)
        var name = chosen.file.rawValue.replacingOccurrences(of: ".cl", with: "")
        if chosen.file == .igemm || chosen.file == .gemm1x1 {
            name += " \(chosen.channelBlock)x\(chosen.pixelBlock)\(chosen.localTiles ? " local" : "")"
            if KernelConfiguration.isFlat(geometry) { name += " flat" }
            if chosen.pairsRows(geometry) { name += " pairs" }
            return name
        }
        if chosen.file == .depthwise { name += " x\(chosen.pixelBlock)" }
        if chosen.channelBlock > 1 { name += " k\(chosen.channelBlock)" }
        if let unrolled = chosen.unrolledKernel { name += " \(unrolled.height)x\(unrolled.width)" }
        return name
    }
}
