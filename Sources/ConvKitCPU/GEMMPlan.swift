import CConvKitKernels
import ConvKitCore

/// How one implicit-GEMM convolution is cut into cache blocks and parallel tasks.
///
/// Per image `n` and group `g` the problem is `C[Kg × P] = W[Kg × Q] · B[Q × P]`, with
/// `P = OH·OW` output pixels and `Q = Cg·R·S` taps; `B` is the im2col matrix, never
/// materialised. A task owns a rectangle of `C` (a range of output channels × a range
/// of pixels of one `(n, g)`), so tasks write disjoint memory and need no locks.
struct GEMMPlan: Sendable {
    /// Rows of a register tile (output channels).
    static let mr = Int(CK_GEMM_MR)
    /// Columns of a register tile (output pixels).
    static let nr = Int(CK_GEMM_NR)

    /// Taps per packed block: a 16-column panel of this depth (16 KB) stays in L1.
    let depthBlock: Int
    /// Output channels per packed weight block: `channelBlock × depthBlock` floats stay in L2.
    let channelBlock: Int
    /// Pixels per packed im2col block.
    let pixelBlock: Int

    /// Output channels per task, a multiple of ``mr`` (except the last).
    let taskChannels: Int
    /// Pixels per task, a multiple of ``nr`` (except the last).
    let taskPixels: Int
    /// Channel ranges per group.
    let channelTasks: Int
    /// Pixel ranges per image.
    let pixelTasks: Int
    /// `N · groups · channelTasks · pixelTasks`.
    let taskCount: Int

    /// Plans `geometry` for up to `threads` threads.
    ///
    /// Aims at four tasks per thread so early finishers find work. Splitting pixels makes
    /// each extra task repack its weights (`Kg·Q` floats); splitting channels makes it
    /// repack its im2col columns (`Q·P` floats), so the cheaper cut is taken first.
    init(_ geometry: ConvolutionGeometry, threads: Int,
         depthBlock: Int = 256, channelBlock: Int = 96, pixelBlock: Int = 512) {
        self.depthBlock = depthBlock
        self.channelBlock = channelBlock
        self.pixelBlock = pixelBlock
        let pixels = geometry.output.height * geometry.output.width
        let channels = geometry.outputChannelsPerGroup
        let outer = geometry.output.batch * geometry.groups
        let mostPixelTasks = Self.ceil(pixels, Self.nr), mostChannelTasks = Self.ceil(channels, Self.mr)
        var pixelTasks = min(Self.ceil(pixels, pixelBlock), mostPixelTasks)
        var channelTasks = 1
        let wanted = threads > 1 ? threads * 4 : 1
        while outer * pixelTasks * channelTasks < wanted {
            let canSplitPixels = pixelTasks < mostPixelTasks, canSplitChannels = channelTasks < mostChannelTasks
            if canSplitChannels && (channels >= pixels || !canSplitPixels) {
                channelTasks += 1
            } else if canSplitPixels {
                pixelTasks += 1
            } else {
                break
            }
        }
        taskPixels = Self.ceil(Self.ceil(pixels, pixelTasks), Self.nr) * Self.nr
        taskChannels = Self.ceil(Self.ceil(channels, channelTasks), Self.mr) * Self.mr
        self.pixelTasks = Self.ceil(pixels, taskPixels)
        self.channelTasks = Self.ceil(channels, taskChannels)
        taskCount = outer * self.pixelTasks * self.channelTasks
    }

    /// Floats of packed weights one task needs.
    var weightWorkspace: Int { Self.ceil(min(channelBlock, taskChannels), Self.mr) * Self.mr * depthBlock }
    /// Floats of packed im2col columns one task needs.
    var columnWorkspace: Int { Self.ceil(min(pixelBlock, taskPixels), Self.nr) * Self.nr * depthBlock }

    static func ceil(_ a: Int, _ b: Int) -> Int { (a + b - 1) / b }
}
