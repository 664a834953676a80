import CConvKitKernels
import ConvKitCore

extension CPUBackend {
    /// Direct convolution: for each output plane, one vectorised pass per input channel
    /// of its group, the first pass starting from the bias and the last applying the
    /// activation before it stores.
    ///
    /// Works for every geometry. Small dense layers that ``smallDenseFits(_:)`` accepts
    /// (LeNet's second layer, say) take the flat kernel of `small_dense.c` instead, those
    /// ``filterVectorDirectFits(_:)`` accepts (conv1-like) the filter-vector kernel, and
    /// small one-channel layers (``singleChannelFits(_:)``, LeNet's first) `single_channel.c`.
    /// Depthwise layers (one input channel per group) make a single pass per plane, which
    /// is where this path is fast; other dense layers re-read each output plane once per
    /// input channel, which is why ``CPUAlgorithm/auto`` sends them to the GEMM path
    /// unless they are tiny.
    func runDirect(_ geometry: ConvolutionGeometry, _ buffers: KernelBuffers, _ loop: ParallelLoop) {
        if Self.smallDenseFits(geometry) { return runSmallDense(geometry, buffers, loop) }
        if Self.filterVectorDirectFits(geometry) { return runFilterVectorDirect(geometry, buffers, loop) }
        if Self.singleChannelFits(geometry) {
            let plane = ck_conv_plane(geometry)
            let activation = ck_epilogue(geometry.activation)
            let images = geometry.output.batch
            let chunks = loop.threads <= 1 ? 1 : min(images, loop.threads * 4)
            return loop.run(chunks) { chunk in
                var plane = plane
                var epilogue = activation
                ck_single_channel(&plane, buffers.input, buffers.weights, buffers.bias, buffers.output,
                                  Int32(geometry.output.channels), images * chunk / chunks, images * (chunk + 1) / chunks,
                                  &epilogue)
            }
        }
        let plane = ck_conv_plane(geometry)
        let planes = geometry.output.batch * geometry.output.channels
        let outputChannels = geometry.output.channels, inputChannels = geometry.input.channels
        let cg = geometry.inputChannelsPerGroup, kg = geometry.outputChannelsPerGroup
        let inputPlane = geometry.input.height * geometry.input.width
        let outputPlane = geometry.output.height * geometry.output.width
        let taps = geometry.kernel.height * geometry.kernel.width
        // A few chunks per thread balance uneven finishing without per-plane dispatch cost.
        let chunks = loop.threads <= 1 ? 1 : min(planes, loop.threads * 4)
        let fused = geometry.activation != .identity
        let activation = ck_epilogue(geometry.activation)
        loop.run(chunks) { chunk in
            var plane = plane
            var epilogue = activation
            let first = planes * chunk / chunks, last = planes * (chunk + 1) / chunks
            // Depthwise: one C call per chunk (AVX-512, zero border), masks built once.
            if cg == 1, ck_depthwise_planes(&plane, buffers.input, buffers.weights, buffers.bias, buffers.output,
                                            Int32(inputChannels), Int32(outputChannels), Int32(kg), first, last,
                                            &epilogue) != 0 {
                return
            }
            for index in first..<last {
                let n = index / outputChannels, k = index % outputChannels
                let group = k / kg
                let initial = buffers.bias?[k] ?? 0
                let out = buffers.output + index * outputPlane
                for c in 0..<cg {
                    let x = buffers.input + (n * inputChannels + group * cg + c) * inputPlane
                    let w = buffers.weights + (k * cg + c) * taps
                    withUnsafePointer(to: &epilogue) { act in
                        ck_direct_plane(&plane, x, w, out, initial, c > 0 ? 1 : 0, fused && c == cg - 1 ? act : nil)
                    }
                }
            }
        }
    }

    /// Whether the direct path runs `geometry` through the flat small-dense kernel
    /// (`small_dense.c`): several input channels per group, stride 1 along rows, a zero
    /// border (or none read), at most 1024 outputs per plane, and a small input copy.
    package static func smallDenseFits(_ geometry: ConvolutionGeometry) -> Bool {
        var plane = ck_conv_plane(geometry)
        let cg = geometry.inputChannelsPerGroup
        return cg > 1 && ck_small_dense_fits(&plane, Int32(cg)) != 0
    }

    /// Whether the direct path runs `geometry` through the filter-vector kernel
    /// (`direct_filter_vectors.c`: 64 filters in lanes × 6 broadcast pixels over a band of
    /// input rows, no im2col), which ``CPUAlgorithm/auto`` takes for layers of at most
    /// 4 input channels per group, such as ResNet-50's conv1 (see `ck_fv_direct_fits`). One
    /// input channel per group stays with the depthwise kernel, which shares each input
    /// load among the planes it feeds.
    package static func filterVectorDirectFits(_ geometry: ConvolutionGeometry) -> Bool {
        var plane = ck_conv_plane(geometry)
        return geometry.inputChannelsPerGroup > 1
            && ck_fv_direct_fits(&plane, Int32(geometry.inputChannelsPerGroup),
                                 Int32(geometry.outputChannelsPerGroup)) != 0
    }

    /// Two phases in one region: the filters packed once per call into the calling thread's
    /// shared buffer (one task per group; a few thousand floats for conv1), then bands of
    /// output rows, several per thread so that a late worker only joins in.
    private func runFilterVectorDirect(_ geometry: ConvolutionGeometry, _ buffers: KernelBuffers, _ loop: ParallelLoop) {
        let plane = ck_conv_plane(geometry)
        let activation = ck_epilogue(geometry.activation)
        let cg = Int32(geometry.inputChannelsPerGroup), kg = Int32(geometry.outputChannelsPerGroup)
        let groups = geometry.groups, units = geometry.output.batch * groups
        let rows = geometry.output.height
        let perGroup = withUnsafePointer(to: plane) { Int(ck_fv_direct_weights_floats(cg, kg, $0)) }
        guard let packed = ck_thread_shared_buffer(groups * perGroup).map(SendablePointer.init) else {
            fatalError("out of memory")
        }
        let bands = loop.threads <= 1 ? 1 : min(rows, GEMMPlan.ceil(loop.threads * 8, units))
        let rowsPerBand = GEMMPlan.ceil(rows, bands)
        let bandCount = GEMMPlan.ceil(rows, rowsPerBand)
        let inputPlane = geometry.input.height * geometry.input.width
        let outputPlane = geometry.output.height * geometry.output.width
        let filterFloats = Int(cg) * geometry.kernel.height * geometry.kernel.width
        loop.run(phases: [groups, units * bandCount]) { phase, task in
            var plane = plane
            if phase == 0 {
                ck_fv_direct_pack(buffers.weights + task * Int(kg) * filterFloats, cg, kg, &plane,
                                  packed.pointer + task * perGroup)
                return
            }
            var epilogue = activation
            let unit = task / bandCount, band = task % bandCount
            let n = unit / groups, group = unit % groups
            let input = buffers.input + (n * geometry.input.channels + group * Int(cg)) * inputPlane
            let output = buffers.output + (n * geometry.output.channels + group * Int(kg)) * outputPlane
            let first = band * rowsPerBand, last = min(rows, first + rowsPerBand)
            ck_fv_direct_rows(&plane, input, packed.pointer + group * perGroup, cg, kg,
                              buffers.bias.map { $0 + group * Int(kg) }, output, Int32(first), Int32(last), &epilogue)
        }
    }

    /// Whether the direct path runs `geometry` through the one-input-channel kernel
    /// (`single_channel.c`, LeNet's first layer): one group of one input channel, at least
    /// two filters to share its loads, stride 1, a zero border and a small plane (see
    /// `ck_single_channel_fits`). A single filter keeps the depthwise plane kernel: on the
    /// 5×5 example the grid's set-up made the call 0.195 → 0.21–0.26 µs (fastest).
    package static func singleChannelFits(_ geometry: ConvolutionGeometry) -> Bool {
        guard geometry.groups == 1, geometry.input.channels == 1, geometry.output.channels >= 2 else { return false }
        var plane = ck_conv_plane(geometry)
        return ck_single_channel_fits(&plane) != 0
    }

    /// Whether this CPU runs the small-dense kernel at all (it needs AVX-512).
    package static var smallDenseKernelAvailable: Bool { ck_has_avx512() != 0 }

    /// A few ranges of images × groups per thread, each one `ck_small_dense` call (which
    /// builds its masks once for the range).
    private func runSmallDense(_ geometry: ConvolutionGeometry, _ buffers: KernelBuffers, _ loop: ParallelLoop) {
        let plane = ck_conv_plane(geometry)
        let activation = ck_epilogue(geometry.activation)
        let units = geometry.output.batch * geometry.groups
        let chunks = loop.threads <= 1 ? 1 : min(units, loop.threads * 4)
        loop.run(chunks) { chunk in
            var plane = plane
            var epilogue = activation
            ck_small_dense(&plane, buffers.input, buffers.weights, buffers.bias, buffers.output,
                           Int32(geometry.input.channels), Int32(geometry.output.channels), Int32(geometry.groups),
                           units * chunk / chunks, units * (chunk + 1) / chunks, &epilogue)
        }
    }
}
