import CConvKitKernels
import ConvKitCore

extension CPUBackend {
    /// Winograd F(2×2, 3×3) per image and group (see ``CPUAlgorithm/winograd``).
    ///
    /// Two phases in one parallel region: the weight transform `U = G g Gᵀ` (once per call, split over
    /// filters, into `16·K·Cg` floats of the calling thread's reusable shared buffer, read
    /// by every task: weights may change between calls, so nothing is cached), then the output tiles, split into
    /// ranges of whole tile blocks and, where those are few, filter ranges of whole register
    /// tiles; each task runs `ck_winograd_block`, whose bounded
    /// workspace (`16·TB·(Cg + Kg)` floats) is per thread.
    func runWinograd(_ geometry: ConvolutionGeometry, _ buffers: KernelBuffers, _ loop: ParallelLoop,
                     transformed prepared: WinogradWeights? = nil) {
        if geometry.kernel.height == 5 {
            runWinograd5(geometry, buffers, loop, transformed: prepared)
            return
        }
        let cg = geometry.inputChannelsPerGroup, kg = geometry.outputChannelsPerGroup
        let channels = geometry.output.channels
        // A prepared layer's transformed weights, or the calling thread's shared buffer: it
        // blocks in this call until every task is done, and tasks (even those it runs
        // itself) use the other per-thread workspace.
        guard let transformed = prepared?.storage ?? ck_thread_shared_buffer(16 * channels * cg) else {
            fatalError("out of memory")
        }
        let u = SendablePointer(transformed)
        // Phase 1: transform the weights, a range of filters per task; phase 2: output
        // tiles. One parallel region runs both.
        let perGroupChunks = loop.threads <= 1 ? 1 : max(1, min(kg / 8, GEMMPlan.ceil(loop.threads * 2, geometry.groups)))
        var mr: Int32 = 0, nr: Int32 = 0
        ck_gemm_shape(&mr, &nr)
        let block = 2 * Int(nr)
        let tiles = ((geometry.output.height + 1) / 2) * ((geometry.output.width + 1) / 2)
        let outer = geometry.output.batch * geometry.groups
        let blocks = GEMMPlan.ceil(tiles, block)
        let ranges = loop.threads <= 1 ? 1 : min(blocks, max(1, GEMMPlan.ceil(loop.threads * 3, outer)))
        let blocksPerRange = GEMMPlan.ceil(blocks, ranges)
        let plane = ck_conv_plane(geometry)
        let activation = ck_epilogue(geometry.activation)
        let inputPlane = geometry.input.height * geometry.input.width
        let outputPlane = geometry.output.height * geometry.output.width
        let rangeCount = GEMMPlan.ceil(blocks, blocksPerRange)
        // Maps of one or a few tile blocks (14×14 is 49 tiles, one block) also split the
        // filters, in whole register tiles: with tile ranges alone one thread did all the
        // work and the other waited (47% of the samples in ck_work_wait, 256@14).
        let filterTile = Int(mr)
        let panels = GEMMPlan.ceil(kg, filterTile)
        let filterChunks = loop.threads <= 1 ? 1 : min(panels, GEMMPlan.ceil(loop.threads * 2, outer * rangeCount))
        let spatialTasks = outer * rangeCount
        let weightTasks = prepared == nil ? geometry.groups * perGroupChunks : 0
        loop.run(phases: [weightTasks, spatialTasks * filterChunks]) { phase, task in
            if phase == 0 {
                let group = task / perGroupChunks, part = task % perGroupChunks
                let k0 = kg * part / perGroupChunks, k1 = kg * (part + 1) / perGroupChunks
                guard k1 > k0 else { return }
                ck_winograd_transform_weights(buffers.weights + group * kg * cg * 9, Int32(kg), Int32(cg), Int32(k0),
                                              Int32(k1), u.pointer + group * 16 * kg * cg)
                return
            }
            var plane = plane
            var epilogue = activation
            let chunk = task % filterChunks, spatial = task / filterChunks
            let k0 = filterTile * (panels * chunk / filterChunks)
            let k1 = min(kg, filterTile * (panels * (chunk + 1) / filterChunks))
            guard k1 > k0 else { return }
            let image = spatial / rangeCount, range = spatial % rangeCount
            let n = image / geometry.groups, group = image % geometry.groups
            let t0 = range * blocksPerRange * block, t1 = min(tiles, (range + 1) * blocksPerRange * block)
            let input = buffers.input + (n * geometry.input.channels + group * cg) * inputPlane
            let output = buffers.output + (n * channels + group * kg) * outputPlane
            ck_winograd_block(&plane, input, Int32(cg), u.pointer + group * 16 * kg * cg, Int32(kg), Int32(k0), Int32(k1),
                              buffers.bias.map { $0 + group * kg }, output, t0, t1, &epilogue)
        }
    }

    /// Winograd F(2×2, 5×5) on small maps (`ck_winograd5`), per image and group, split
    /// into ranges of tile-row pairs where threads are many and images few. A one-shot call
    /// transforms the weights first, on the calling thread, into its shared buffer.
    func runWinograd5(_ geometry: ConvolutionGeometry, _ buffers: KernelBuffers, _ loop: ParallelLoop,
                      transformed prepared: WinogradWeights?) {
        let cg = geometry.inputChannelsPerGroup, kg = geometry.outputChannelsPerGroup
        let perGroup = WinogradWeights.floatsPerGroup5(geometry)
        let u: UnsafeMutablePointer<Float>
        if let prepared {
            u = prepared.storage
        } else {
            guard let shared = ck_thread_shared_buffer(geometry.groups * perGroup) else { fatalError("out of memory") }
            WinogradWeights.transform5(geometry, weights: buffers.weights, into: shared)
            u = shared
        }
        let transformed = SendablePointer(u)
        let plane = ck_conv_plane(geometry)
        let activation = ck_epilogue(geometry.activation)
        let pairs = withUnsafePointer(to: plane) { Int(ck_winograd5_pairs($0)) }
        let images = geometry.output.batch * geometry.groups
        let splits = loop.threads <= 1 ? 1 : min(pairs, GEMMPlan.ceil(loop.threads * 2, images))
        let inputPlane = geometry.input.height * geometry.input.width
        let outputPlane = geometry.output.height * geometry.output.width
        loop.run(images * splits) { task in
            var plane = plane
            var epilogue = activation
            let image = task / splits, part = task % splits
            let n = image / geometry.groups, group = image % geometry.groups
            let input = buffers.input + (n * geometry.input.channels + group * cg) * inputPlane
            let output = buffers.output + (n * geometry.output.channels + group * kg) * outputPlane
            ck_winograd5(&plane, input, Int32(cg), transformed.pointer + group * perGroup, Int32(kg),
                         buffers.bias.map { $0 + group * kg }, output, Int32(pairs * part / splits),
                         Int32(pairs * (part + 1) / splits), &epilogue)
        }
    }
}

/// A raw pointer handed to worker tasks that write disjoint parts of it.
struct SendablePointer: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<Float>
    init(_ pointer: UnsafeMutablePointer<Float>) { self.pointer = pointer }
}
