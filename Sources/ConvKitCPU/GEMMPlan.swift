import CConvKitKernels
import ConvKitCore

/// How one implicit-GEMM convolution is cut into parallel tasks.
///
/// Per image `n` and group `g` the problem is `C[Kg × P] = W[Kg × Q] · B[Q × P]`, with
/// `P = OH·OW` output pixels and `Q = Cg·R·S` taps; `B` is the im2col matrix, never
/// materialised beyond one bounded block per thread. A task owns a rectangle of `C` (a
/// range of output channels × a range of pixels of one `(n, g)`), so tasks write
/// disjoint memory and need no locks. Cache blocking inside a task is the C driver's
/// (`ck_conv_gemm_block`: KC = 256 taps, NC = 128 pixels, MC = 128 channels).
///
/// Partition, chosen per shape so every core has work and a core lost to another
/// process delays only a small task (tasks are claimed dynamically, see ``ParallelLoop``):
/// 1. one thread, or at least `2·threads` images×groups → one task per `(n, g)`;
/// 2. a small map (pixels rounded up to NR ≤ 256, e.g. 7×7 or 14×14) → split output
///    channels into one range of whole MR tiles per thread, each task packing its own
///    im2col one depth block at a time. Packing is duplicated, but a core's working set
///    stays its half of the weights plus one 256-deep block: a shared whole-map im2col
///    (9× the input for 3×3: 1.9 MB at 256 channels, 14×14) pushed the weights out of L2
///    on every call, and measured 3–14% slower on ResNet-50's 14×14 and 7×7 layers;
/// 3. otherwise → split pixels into ranges of ≥ 2 NR panels: each task packs only its own
///    columns and re-reads the weights, which stay in cache.
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

    init(_ geometry: ConvolutionGeometry, threads: Int, packed: Bool = false) {
        var mr: Int32 = 0, nr: Int32 = 0
        ck_gemm_shape(&mr, &nr)
        let pixels = geometry.output.height * geometry.output.width
        let channels = geometry.outputChannelsPerGroup
        // The filter-vector tile's lanes are 16 filters, and its tasks start on them.
        self.mr = packed && ck_gemm_filter_vectors(pixels, channels, geometry.reductionLength) != 0 ? 16 : Int(mr)
        self.nr = Int(nr)
        let outer = geometry.output.batch * geometry.groups
        let panels = Self.ceil(pixels, self.nr)
        let tiles = Self.ceil(channels, self.mr)
        var pixelTasks = 1, channelTasks = 1
        if threads > 1 && outer < 2 * threads {
            let perOuter = Self.ceil(threads * 4, outer)
            if panels * self.nr <= 256 && tiles >= 2 {
                // One channel range per thread: each more range packs the whole map again.
                channelTasks = min(tiles, Self.ceil(threads, outer))
            } else {
                pixelTasks = max(1, min(perOuter, panels / 2))
                if pixelTasks * outer < threads { channelTasks = min(tiles, Self.ceil(threads, pixelTasks * outer)) }
            }
        }
        // Balanced ranges in whole panels / tiles.
        taskPixels = Self.ceil(panels, pixelTasks) * self.nr
        taskChannels = Self.ceil(tiles, channelTasks) * self.mr
        self.pixelTasks = Self.ceil(pixels, taskPixels)
        self.channelTasks = Self.ceil(channels, taskChannels)
        taskCount = outer * self.pixelTasks * self.channelTasks
    }

    static func ceil(_ a: Int, _ b: Int) -> Int { (a + b - 1) / b }
}
