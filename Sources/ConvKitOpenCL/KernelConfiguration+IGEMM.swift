import ConvKitCore

extension KernelConfiguration {
    /// An igemm configuration: `tile` work-items (width `TN` along pixels, height `TM`
    /// along filters), each with a `filters` (`RM`) × `pixels` (`RN`) register block.
    static func igemm(tile: Size2D, filters: Int, pixels: Int, local: Bool, reduction: Int = 8) -> KernelConfiguration {
        var configuration = KernelConfiguration(file: .igemm, workGroup: tile, channelBlock: filters, unrolledKernel: nil)
        configuration.pixelBlock = pixels
        configuration.localTiles = local
        configuration.reductionTile = local ? reduction : 8
        return configuration
    }

    /// A `conv2d_gemm1x1.cl` configuration: `tile` work-items, `filters` × `pixels` blocks.
    static func gemm1x1(tile: Size2D, filters: Int, pixels: Int) -> KernelConfiguration {
        var configuration = KernelConfiguration(file: .gemm1x1, workGroup: tile, channelBlock: filters, unrolledKernel: nil)
        configuration.pixelBlock = pixels
        return configuration
    }

    /// A `conv2d_depthwise.cl` configuration: `width` work-items per group, `pixels`
    /// output columns each, the filter loops unrolled for `unrolled` (or generic).
    static func depthwise(width: Int, pixels: Int, unrolled: Size2D?) -> KernelConfiguration {
        var configuration = KernelConfiguration(file: .depthwise, workGroup: Size2D(height: 1, width: width),
                                                channelBlock: 1, unrolledKernel: unrolled)
        configuration.pixelBlock = pixels
        return configuration
    }

    /// The 1×1 GEMM configurations of `device`: CPUs only (GPUs run 1×1 layers on igemm's
    /// local tiles). 8 work-items per group; 8 or 16 filters × 16 pixels (float16 =
    /// AVX-512), 8 × 8 for short pixel rows.
    static func gemm1x1Candidates(for device: OpenCLDeviceInfo) -> [KernelConfiguration] {
        guard device.kind == .cpu else { return [] }
        return [gemm1x1(tile: Size2D(height: 2, width: 4), filters: 8, pixels: 16),
                gemm1x1(tile: Size2D(height: 2, width: 4), filters: 16, pixels: 16),
                gemm1x1(tile: Size2D(height: 2, width: 4), filters: 8, pixels: 8)]
    }

    /// The depthwise configurations of `device`, each generic and unrolled for 3×3: CPUs
    /// 8 work-items × 8 columns (float8), GPUs 64 work-items × 4 columns.
    static func depthwiseCandidates(for device: OpenCLDeviceInfo) -> [KernelConfiguration] {
        let (width, pixels) = device.kind == .cpu ? (8, 8) : (64, 4)
        return [depthwise(width: width, pixels: pixels, unrolled: Size2D(3)),
                depthwise(width: width, pixels: pixels, unrolled: nil)]
    }

    /// The igemm configurations the tuner tries and the backend may choose on `device`:
    /// a small fixed space per device kind, so a whole test run builds each once.
    ///
    /// CPUs (PoCL): no local tiles (caches do that, and barriers split PoCL's work-group
    /// loops), 8 work-items per group, register blocks of 4 or 8 filters × 8 or 16 pixels
    /// (float8 = AVX2, float16 = AVX-512 vectors), plus 1 × 16 for depthwise layers.
    /// GPUs: local-memory tiles with 64×64 and 128×128 output tiles (16×16 work-items with
    /// 4×4 or 8×8 register blocks: 256 work-items = 8 NVIDIA warps or 4 AMD wavefronts,
    /// each warp reading 16 consecutive float4/float8 vectors), a 32×32 tile (8×8
    /// work-items) for small layers, and a 64-filter × 32-pixel tile.
    static func igemmCandidates(for device: OpenCLDeviceInfo) -> [KernelConfiguration] {
        if device.kind == .cpu {
            return [igemm(tile: Size2D(height: 2, width: 4), filters: 8, pixels: 16, local: false),
                    igemm(tile: Size2D(height: 2, width: 4), filters: 8, pixels: 8, local: false),
                    igemm(tile: Size2D(height: 2, width: 4), filters: 4, pixels: 16, local: false),
                    igemm(tile: Size2D(height: 2, width: 4), filters: 4, pixels: 8, local: false),
                    igemm(tile: Size2D(height: 2, width: 4), filters: 1, pixels: 16, local: false),
                    igemm(tile: Size2D(height: 2, width: 4), filters: 16, pixels: 16, local: false)]
        }
        return [igemm(tile: Size2D(16), filters: 4, pixels: 4, local: true, reduction: 16),
                igemm(tile: Size2D(16), filters: 8, pixels: 8, local: true, reduction: 8),
                igemm(tile: Size2D(8), filters: 4, pixels: 4, local: true, reduction: 8),
                igemm(tile: Size2D(height: 8, width: 8), filters: 8, pixels: 4, local: true, reduction: 16)]
    }

    /// The documented heuristic: the igemm configuration for `geometry` on `device` when
    /// no tuning entry exists (the first candidate that fits, in this order of preference).
    ///
    /// Layers with one input channel per group (depthwise) take `conv2d_depthwise.cl`
    /// (unrolled for 3×3), 1×1 layers on CPUs `conv2d_gemm1x1.cl` — 16 filters × 16 pixels
    /// (8 × 16 below 16 filters per group; 8 × 8 for fewer than 12 pixels per row or flat
    /// plane) — except strided or padded ones with rows of at most 8 pixels, which take
    /// igemm's pair mode (two rows per float16; 1×1 s2 1024→2048 to 7×7: 3.2 → 2.1 ms on
    /// PoCL against gemm1x1's 8 × 8); then igemm. On PoCL the 16 × 16 block ran the
    /// ResNet-50 1×1 layers 1.0–1.9× faster than 8 × 16 (1.2–1.6× on 28×28 and smaller
    /// maps, alternating runs).
    /// igemm on CPUs: fewer than 4 filters per group 1 filter × 16 pixels, fewer than 16
    /// 8 × 16; otherwise 16 filters × 16 pixels (16 accumulators, one input vector load
    /// per 16 FMAs: 10–15% faster than 8 × 16 on PoCL) for 1×1 stride-1 layers (flat mode,
    /// the plane is contiguous), rows of at most 8 pixels (pair mode, two rows per
    /// float16, ``pairsRows(_:)``) and rows of 12 or more; 8 × 8 for rows of 9–11. GPUs: 128×128 tiles (8×8 blocks) for
    /// large outputs with at least 128 filters, 32×32 tiles for small outputs or few
    /// filters, else 64×64.
    static func heuristic(for geometry: ConvolutionGeometry, on device: OpenCLDeviceInfo) -> [KernelConfiguration] {
        var special: [KernelConfiguration] = []
        if geometry.inputChannelsPerGroup == 1 {
            special = depthwiseCandidates(for: device).filter { $0.unrolledKernel == nil || $0.unrolledKernel == geometry.kernel }
        } else if geometry.kernel == Size2D(1) {
            let gemm = gemm1x1Candidates(for: device)
            let pixels = isFlat(geometry) ? geometry.output.height * geometry.output.width : geometry.output.width
            if gemm.isEmpty || (!isFlat(geometry) && geometry.output.width <= 8) {
                special = []
            } else if pixels < 12 {
                special = [gemm[2], gemm[0], gemm[1]]
            } else {
                special = geometry.outputChannelsPerGroup < 16 ? [gemm[0], gemm[1], gemm[2]] : [gemm[1], gemm[0], gemm[2]]
            }
        }
        return special + igemmHeuristic(for: geometry, on: device)
    }

    /// The igemm part of ``heuristic(for:on:)``, in order of preference.
    static func igemmHeuristic(for geometry: ConvolutionGeometry, on device: OpenCLDeviceInfo) -> [KernelConfiguration] {
        let candidates = igemmCandidates(for: device)
        let pixels = geometry.output.height * geometry.output.width
        var order: [Int]
        if device.kind == .cpu {
            if geometry.outputChannelsPerGroup < 4 { order = [4, 1, 3] }
            else if geometry.outputChannelsPerGroup < 16 { order = [0, 2, 1, 3] }
            else if isFlat(geometry) { order = [5, 0, 2, 1] }
            else if geometry.output.width <= 8 { order = [5, 0, 1, 2] }
            else if geometry.output.width < 12 { order = [1, 3, 0, 2] }
            else { order = [5, 0, 1, 2] }
        } else {
            if pixels <= 256 || geometry.outputChannelsPerGroup < 64 { order = [2, 0, 3] }
            else if geometry.outputChannelsPerGroup >= 128, pixels >= 1024 { order = [1, 0, 3, 2] }
            else { order = [0, 3, 2, 1] }
        }
        return order.map { candidates[$0] }
    }

    /// Whether an igemm configuration can run on `device`: the work-group within the
    /// device's limits and the local tiles within half its local memory.
    func fitsIGEMM(on device: OpenCLDeviceInfo) -> Bool {
        guard workGroup.height * workGroup.width <= device.maxWorkGroupSize,
              device.maxWorkItemSizes.count >= 2,
              workGroup.width <= device.maxWorkItemSizes[0], workGroup.height <= device.maxWorkItemSizes[1]
        else { return false }
        return UInt64(localMemoryBytes) <= device.localMemoryBytes / 2
    }
}
