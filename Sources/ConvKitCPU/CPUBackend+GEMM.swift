import CConvKitKernels
import ConvKitCore

extension CPUBackend {
    /// Packed implicit GEMM, per image and group: `C[Kg × P] = W[Kg × Q] · im2col[Q × P]`.
    ///
    /// Each task is one call of the C driver `ck_conv_gemm_block` on its rectangle of `C`
    /// (see ``GEMMPlan``). The driver reads the weights in place (no per-task repacking),
    /// packs im2col columns into a per-thread workspace that outlives the call, and runs
    /// an 8×32 AVX-512 tile (6×16 AVX2+FMA, or portable, where AVX-512 is missing). The
    /// first depth block stores `bias + partial sum`, later ones add to it, the last
    /// applies the activation before its store. Every output is one sum in tap order
    /// split at depth-block boundaries, so small-integer data is exact.
    ///
    /// `packed` (from ``PackedGEMMWeights``) holds the same weights packed for the tile;
    /// the driver reads it instead where this CPU's tile can. With packed weights a panel
    /// of 17–20 live columns (49 pixels of a 7×7 map = 32 + 17) runs the 16-column tile
    /// and a column tail (`tail_columns`: one vector of 8 filters' weights per tile and
    /// tap, times each column's value) instead of a 32-column tile with 12–15 idle lanes,
    /// and a panel of 1–4 (196 pixels of a 14×14 map = 6·32 + 4) runs the tail alone:
    /// 11–13% faster on ResNet-50's 7×7 layers and 3.5–5% on its 14×14 ones (single
    /// thread, fastest calls), the same sums. Where `ck_gemm_filter_vectors` holds (maps of
    /// ≤ 64 pixels, or ≤ 256 with ≥ 1024 taps; ≥ 64 filters), packed weights run the
    /// filter-vector tile instead (64 filters in lanes × 6 broadcast pixels; the same sums),
    /// and the plan's channel ranges start at multiples of 16.
    func runGEMM(_ geometry: ConvolutionGeometry, _ buffers: KernelBuffers, _ loop: ParallelLoop,
                 packed: PackedGEMMWeights? = nil) {
        let plan = GEMMPlan(geometry, threads: loop.threads, packed: packed != nil)
        let plane = ck_conv_plane(geometry)
        let activation = ck_epilogue(geometry.activation)
        let cg = geometry.inputChannelsPerGroup, kg = geometry.outputChannelsPerGroup
        let pixels = geometry.output.height * geometry.output.width
        let depth = geometry.reductionLength
        let inputPlane = geometry.input.height * geometry.input.width
        loop.run(plan.taskCount) { task in
            var plane = plane
            var epilogue = activation
            let pixelTask = task % plan.pixelTasks
            let channelTask = task / plan.pixelTasks % plan.channelTasks
            let image = task / (plan.pixelTasks * plan.channelTasks)
            let n = image / geometry.groups, group = image % geometry.groups
            let firstChannel = channelTask * plan.taskChannels, endChannel = min(kg, firstChannel + plan.taskChannels)
            let firstPixel = pixelTask * plan.taskPixels, endPixel = min(pixels, firstPixel + plan.taskPixels)
            let input = buffers.input + (n * geometry.input.channels + group * cg) * inputPlane
            let weights = buffers.weights + group * kg * depth
            let packedWeights = packed.map { UnsafePointer($0.storage + group * $0.floatsPerGroup) }
            let output = buffers.output + (n * geometry.output.channels + group * kg) * pixels
            let bias = buffers.bias.map { $0 + group * kg }
            ck_conv_gemm_block(&plane, input, weights, depth, packedWeights, kg, bias, output, pixels, Int32(firstChannel),
                               Int32(endChannel), firstPixel, endPixel, &epilogue)
        }
    }
}
