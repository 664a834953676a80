import ConvKitCore

/// Which kernel family a backend uses.
public enum KernelChoice: String, Hashable, Sendable, CaseIterable, CustomStringConvertible {
    /// The tuned configuration of the geometry's shape class when the tuning database
    /// has one, otherwise the heuristic (``KernelConfiguration/heuristic(for:on:)``):
    /// the implicit-GEMM kernel, the direct kernel where its limits do not allow it.
    case auto
    /// Always the direct kernel.
    case direct
    /// The tiled kernel wherever it applies (its local tile fits the device); the direct
    /// kernel for the rest.
    case tiled
    /// The implicit-GEMM kernel (heuristic block sizes, never the tuning database) wherever
    /// the device allows it; the direct kernel for the rest.
    case igemm

    /// The lower-case name.
    public var description: String { rawValue }
}

/// The code-generation choices for one kernel launch, and the launch sizes they imply.
///
/// The single record both the `-D` build options and the NDRange come from, so the host
/// and the kernel can never disagree about a tile or work-group size. Only values with
/// few possibilities live here; every problem size is a kernel argument, so a whole test
/// run compiles ``variants(for:)`` and nothing else.
public struct KernelConfiguration: Hashable, Sendable, CustomStringConvertible {
    /// The kernel file.
    public var file: KernelFile
    /// The work-group extent: `width` along output columns (dimension 0), `height` along
    /// output rows (dimension 1). For the tiled kernel it is also the output tile.
    public var workGroup: Size2D
    /// Output channels each work-item accumulates in registers (`K_BLOCK`; 1 for direct).
    public var channelBlock: Int
    /// The filter size the loops are unrolled for, or `nil` for the generic loops.
    public var unrolledKernel: Size2D?
    /// Whether the program is built with `-cl-fp32-correctly-rounded-divide-sqrt` (pooling,
    /// where the device offers it, so an average is one correctly rounded division).
    public var correctlyRoundedDivide = false
    /// igemm: output pixels per work-item = float vector width (`RN`; 1 for the others).
    public var pixelBlock = 1
    /// igemm: whether input and weight tiles are staged in local memory (`USE_LOCAL`).
    public var localTiles = false
    /// igemm: input channels per local-memory chunk (`TK`).
    public var reductionTile = 8

    /// Filter sizes with an unrolled variant; others run the generic loops.
    static let unrolledSizes: Set<Size2D> = [Size2D(3)]
    /// The direct kernel's preferred work-group: 16 columns keep a GPU's loads coalesced.
    static let directWorkGroup = Size2D(height: 4, width: 16)
    /// The tiled kernel's output tile, 128 work-items.
    static let tiledWorkGroup = Size2D(height: 8, width: 16)
    /// Register block for groups with at least this many output channels.
    static let wideChannelBlock = 4

    /// `-D` name/value pairs, in a fixed order so equal configurations give equal options.
    public var defines: [(name: String, value: Int)] {
        let kernel = [("KERNEL_H", unrolledKernel?.height ?? 0), ("KERNEL_W", unrolledKernel?.width ?? 0)]
        switch file {
        case .direct:
            return [("WG_X", workGroup.width), ("WG_Y", workGroup.height)] + kernel
        case .tiled:
            return [("TILE_W", workGroup.width), ("TILE_H", workGroup.height), ("K_BLOCK", channelBlock)] + kernel
        case .igemm:
            return [("TN", workGroup.width), ("TM", workGroup.height), ("RN", pixelBlock), ("RM", channelBlock),
                    ("USE_LOCAL", localTiles ? 1 : 0), ("TK", localTiles ? reductionTile : 8)]
        case .gemm1x1:
            return [("TN", workGroup.width), ("TM", workGroup.height), ("RN", pixelBlock), ("RM", channelBlock)]
        case .depthwise:
            return [("TN", workGroup.width), ("RN", pixelBlock)] + kernel
        case .pool:
            return [("WG_X", workGroup.width), ("WG_Y", workGroup.height)]
        }
    }

    /// The `clBuildProgram` options: OpenCL C 1.2, the division flag, then the defines.
    public var buildOptions: String {
        let division = correctlyRoundedDivide ? ["-cl-fp32-correctly-rounded-divide-sqrt"] : []
        return (["-cl-std=CL1.2"] + division + defines.map { "-D\($0.name)=\($0.value)" }).joined(separator: " ")
    }

    /// `conv2d_tiled.cl -DTILE_W=16 ...`.
    public var description: String { "\(file) \(buildOptions)" }

    /// Global and local NDRange sizes for `geometry`; global sizes are rounded up to the
    /// work-group, and the kernels bounds-check the tail.
    func launch(for geometry: ConvolutionGeometry) -> (global: [Int], local: [Int]) {
        let output = geometry.output
        if file == .depthwise {
            let blocks = output.height * ((output.width + pixelBlock - 1) / pixelBlock)
            return ([Self.roundUp(blocks, to: workGroup.width), output.channels, output.batch],
                    [workGroup.width, 1, 1])
        }
        if file == .igemm || file == .gemm1x1 {
            let pixels = Self.isFlat(geometry)
                ? (output.height * output.width + pixelBlock - 1) / pixelBlock
                : pairsRows(geometry) ? (output.height + 1) / 2
                : output.height * ((output.width + pixelBlock - 1) / pixelBlock)
            return ([Self.roundUp(pixels, to: workGroup.width),
                     Self.roundUp(channelBlocks(for: geometry), to: workGroup.height),
                     output.batch * geometry.groups], [workGroup.width, workGroup.height, 1])
        }
        let columns = Self.roundUp(output.width, to: workGroup.width)
        let rows = Self.roundUp(output.height, to: workGroup.height)
        let depth = switch file {
        case .direct, .pool, .igemm, .gemm1x1, .depthwise: output.batch * output.channels
        case .tiled: output.batch * geometry.groups * channelBlocks(for: geometry)
        }
        return ([columns, rows, depth], [workGroup.width, workGroup.height, 1])
    }

    /// `ceil(Kg / K_BLOCK)`.
    func channelBlocks(for geometry: ConvolutionGeometry) -> Int {
        (geometry.outputChannelsPerGroup + channelBlock - 1) / channelBlock
    }

    /// The input window one tiled work-group stages per channel, `(rows, columns)`.
    func tileExtent(for geometry: ConvolutionGeometry) -> Size2D {
        Size2D(height: (workGroup.height - 1) * geometry.stride.height + geometry.effectiveKernel.height,
               width: (workGroup.width - 1) * geometry.stride.width + geometry.effectiveKernel.width)
    }

    /// Whether the kernel reads its weights through a filter repack (a weight step,
    /// `pack_filters` in `conv_common.cl`: blocks of `RM` filters, tap-major then channel;
    /// gemm1x1 and igemm without local tiles), so
    /// the `RM` weights of one reduction step sit side by side behind one pointer. Chains
    /// and `convkit bench` repack once at preparation; one-shot calls repack per call
    /// (3×3 512@7 on PoCL, 9.4 MB of filters: still 3.6 → 2.6 ms a call).
    var readsPackedFilters: Bool { file == .gemm1x1 || (file == .igemm && !localTiles) }

    /// Whether igemm runs `geometry` in flat mode: a 1×1 filter with stride 1 and no
    /// padding, so the input plane is the output pixel axis.
    static func isFlat(_ geometry: ConvolutionGeometry) -> Bool {
        geometry.kernel == Size2D(1) && geometry.stride == Size2D(1) && geometry.input.height == geometry.output.height
            && geometry.input.width == geometry.output.width && geometry.padding.top == 0 && geometry.padding.left == 0
    }

    /// Whether igemm runs `geometry` in pair mode (`flat` = 2): global reads, at least 4
    /// pixels per work-item and output rows of at most half of them (7-wide maps: two rows
    /// fill a float16 instead of one row leaving half a float16 or a float8 idle).
    func pairsRows(_ geometry: ConvolutionGeometry) -> Bool {
        file == .igemm && !localTiles && pixelBlock >= 4 && !Self.isFlat(geometry)
            && 2 * geometry.output.width <= pixelBlock
    }

    /// The kernel that runs `geometry`: the file's entry point, or igemm's pair-mode one.
    func entryPoint(for geometry: ConvolutionGeometry) -> String {
        pairsRows(geometry) ? KernelFile.igemmPairsEntryPoint : file.entryPoint
    }

    /// The igemm/gemm1x1 `flat` argument: 1 flat, 2 pairs of rows, 0 rows.
    func flatMode(_ geometry: ConvolutionGeometry) -> Int {
        Self.isFlat(geometry) ? 1 : pairsRows(geometry) ? 2 : 0
    }

    /// Local memory of one igemm work-group, in bytes (0 without local tiles; 0 for the
    /// other files).
    var localMemoryBytes: Int {
        guard file == .igemm, localTiles else { return 0 }
        return (workGroup.height * channelBlock * reductionTile + reductionTile * workGroup.width * pixelBlock)
            * MemoryLayout<Float>.size
    }

    static func roundUp(_ value: Int, to multiple: Int) -> Int {
        (value + multiple - 1) / multiple * multiple
    }
}

extension KernelConfiguration {
    /// The configuration a backend with `choice` uses for `geometry` on `device`; `auto`
    /// takes the tuned winner of the geometry's ``ShapeClass`` from `tuning` when there is
    /// one the backend can choose (one of ``variants(for:)``) and that fits.
    static func choose(for geometry: ConvolutionGeometry, on device: OpenCLDeviceInfo,
                       choice: KernelChoice, tuning: TuningDatabase? = nil) -> KernelConfiguration {
        let unrolled = unrolledSizes.contains(geometry.kernel) ? geometry.kernel : nil
        let direct = KernelConfiguration(file: .direct, workGroup: fittedWorkGroup(directWorkGroup, on: device),
                                         channelBlock: 1, unrolledKernel: unrolled)
        switch choice {
        case .direct:
            return direct
        case .tiled:
            let tiled = tiledConfiguration(for: geometry, unrolled: unrolled)
            return tiled.fits(geometry, on: device) ? tiled : direct
        case .igemm:
            return heuristic(for: geometry, on: device).first { $0.file == .igemm && $0.fitsIGEMM(on: device) } ?? direct
        case .auto:
            if let tuned = tuning?.configuration(for: ShapeClass(geometry), on: device, geometry: geometry),
               variants(for: device).contains(tuned), tuned.canRun(geometry, on: device) {
                return tuned
            }
            return heuristic(for: geometry, on: device).first { $0.canRun(geometry, on: device) } ?? direct
        }
    }

    /// The tiled kernel for `geometry`: `K_BLOCK` 4 for groups with at least 4 filters.
    static func tiledConfiguration(for geometry: ConvolutionGeometry, unrolled: Size2D?) -> KernelConfiguration {
        let block = geometry.outputChannelsPerGroup >= wideChannelBlock ? wideChannelBlock : 1
        return KernelConfiguration(file: .tiled, workGroup: tiledWorkGroup, channelBlock: block, unrolledKernel: unrolled)
    }

    /// Whether `self` can run `geometry` on `device` (any file; pooling never).
    func canRun(_ geometry: ConvolutionGeometry, on device: OpenCLDeviceInfo) -> Bool {
        switch file {
        case .direct: unrolledKernel == nil || unrolledKernel == geometry.kernel
        case .tiled: (unrolledKernel == nil || unrolledKernel == geometry.kernel) && fits(geometry, on: device)
        case .igemm: fitsIGEMM(on: device)
        case .gemm1x1: geometry.kernel == Size2D(1) && fitsIGEMM(on: device)
        case .depthwise: geometry.inputChannelsPerGroup == 1 && (unrolledKernel == nil || unrolledKernel == geometry.kernel)
            && fitsIGEMM(on: device)
        case .pool: false
        }
    }

    /// Every configuration ``choose(for:on:choice:tuning:)`` can return on `device`: the
    /// set a test builds once to prove each compiles.
    static func variants(for device: OpenCLDeviceInfo) -> [KernelConfiguration] {
        let kernels: [Size2D?] = [nil] + unrolledSizes.sorted { $0.height < $1.height }
        var result: [KernelConfiguration] = []
        for kernel in kernels {
            result.append(KernelConfiguration(file: .direct, workGroup: fittedWorkGroup(directWorkGroup, on: device),
                                              channelBlock: 1, unrolledKernel: kernel))
            for block in [1, wideChannelBlock] where tiledWorkGroup.height * tiledWorkGroup.width <= device.maxWorkGroupSize {
                result.append(KernelConfiguration(file: .tiled, workGroup: tiledWorkGroup, channelBlock: block,
                                                  unrolledKernel: kernel))
            }
        }
        result += (igemmCandidates(for: device) + gemm1x1Candidates(for: device) + depthwiseCandidates(for: device))
            .filter { $0.fitsIGEMM(on: device) }
        return result + [pool(on: device)]
    }

    /// Whether the tiled kernel can run `geometry`: the work-group is allowed and the tile
    /// takes at most half the local memory (leaving room for the driver and occupancy).
    func fits(_ geometry: ConvolutionGeometry, on device: OpenCLDeviceInfo) -> Bool {
        guard workGroup.height * workGroup.width <= device.maxWorkGroupSize,
              device.maxWorkItemSizes.count >= 2,
              workGroup.width <= device.maxWorkItemSizes[0], workGroup.height <= device.maxWorkItemSizes[1]
        else { return false }
        let extent = tileExtent(for: geometry)
        let bytes = UInt64(extent.height) * UInt64(extent.width) * UInt64(MemoryLayout<Float>.size)
        return bytes <= device.localMemoryBytes / 2
    }

    /// Halves the work-group (rows first, keeping columns for coalescing) until the
    /// device accepts it.
    static func fittedWorkGroup(_ preferred: Size2D, on device: OpenCLDeviceInfo) -> Size2D {
        var size = preferred
        let maxItems = device.maxWorkItemSizes + [Int](repeating: 1, count: max(0, 2 - device.maxWorkItemSizes.count))
        while size.height * size.width > device.maxWorkGroupSize || size.height > maxItems[1] || size.width > maxItems[0],
              size.height * size.width > 1 {
            if size.height > 1 { size.height /= 2 } else { size.width /= 2 }
        }
        return size
    }
}
