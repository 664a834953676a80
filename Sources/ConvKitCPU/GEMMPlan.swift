import CConvKitKernels
import ConvKitCore

/// How one implicit-GEMM convolution is cut into parallel tasks.
///
/// Per image `n` and group `g` the problem is `C[Kg × P] = W[Kg × Q] · B[Q × P]`, with
/// `P = OH·OW` output pixels and `Q = Cg·R·S` taps; `B` is the im2col matrix, never
/// materialised beyond one bounded block per thread. A task owns a rectangle of `C` (a
/// range of output channels × a range of pixels of one `(n, g)`), so tasks write
/// disjoint memory and need no locks. Cache blocking inside a task is the C driver's
/// (`ck_conv_gemm_block`: KC = 256 taps, NC = 384 pixels, MC = 128 channels).
///
/// Partition, chosen per shape so every core has work:
/// 1. one thread → one task per `(n, g)`;
/// 2. at least `2·threads` images×groups → one task per `(n, g)` (no duplicated packing);
/// 3. enough NR-wide pixel panels (≥ 2 per task) → split pixels: each task packs only
///    its own columns and re-reads the weights, which are shared in cache;
/// 4. otherwise (small maps such as 7×7 or 14×14) → split output channels into one range
///    per thread; each task packs the (small) im2col of its image once.
struct GEMMPlan: Sendable {
    /// Rows of the register tile (output channels) on this CPU.
    let mr: Int
    /// Columns of the register tile (output pixels) on this CPU.
    let nr: Int
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

    init(_ geometry: ConvolutionGeometry, threads: Int) {
        var mr: Int32 = 0, nr: Int32 = 0
        ck_gemm_shape(&mr, &nr)
        self.mr = Int(mr)
        self.nr = Int(nr)
        let pixels = geometry.output.height * geometry.output.width
        let channels = geometry.outputChannelsPerGroup
        let outer = geometry.output.batch * geometry.groups
        var pixelTasks = 1, channelTasks = 1
        if threads > 1 && outer < 2 * threads {
            let perOuter = Self.ceil(threads * 2, outer)
            let panels = Self.ceil(pixels, self.nr)
            if panels >= 2 * perOuter {
                pixelTasks = perOuter
            } else if panels >= 2 * Self.ceil(threads, outer) && panels % Self.ceil(threads, outer) == 0 {
                pixelTasks = Self.ceil(threads, outer)
            } else {
                channelTasks = min(Self.ceil(channels, self.mr), Self.ceil(threads, outer))
            }
        }
        // Balanced ranges in whole panels / tiles.
        let panels = Self.ceil(pixels, self.nr)
        taskPixels = Self.ceil(panels, pixelTasks) * self.nr
        let tiles = Self.ceil(channels, self.mr)
        taskChannels = Self.ceil(tiles, channelTasks) * self.mr
        self.pixelTasks = Self.ceil(pixels, taskPixels)
        self.channelTasks = Self.ceil(channels, taskChannels)
        taskCount = outer * self.pixelTasks * self.channelTasks
    }

    static func ceil(_ a: Int, _ b: Int) -> Int { (a + b - 1) / b }
}
