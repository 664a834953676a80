import CConvKitKernels
import ConvKitCore

extension CPUBackend {
    /// Packed implicit GEMM, per image and group: `C[Kg × P] = W[Kg × Q] · im2col[Q × P]`.
    ///
    /// Loop nest of one task (BLIS order): pixel blocks → depth blocks (pack im2col
    /// columns into 16-wide panels) → channel blocks (pack weights into 6-row panels) →
    /// 6×16 register tiles. The first depth block stores `bias + partial sum`, later ones
    /// add to it, and the last applies the activation in registers before its store, so
    /// there is no separate bias or epilogue pass. Workspace is two bounded blocks per
    /// task, whatever the input size.
    func runGEMM(_ geometry: ConvolutionGeometry, _ buffers: KernelBuffers, _ loop: ParallelLoop) {
        let plan = GEMMPlan(geometry, threads: loop.threads)
        let plane = ck_conv_plane(geometry)
        loop.run(plan.taskCount) { task in
            var plane = plane
            let weightBlock = UnsafeMutableRawPointer.allocate(byteCount: plan.weightWorkspace * 4, alignment: 64)
            let columnBlock = UnsafeMutableRawPointer.allocate(byteCount: plan.columnWorkspace * 4, alignment: 64)
            defer {
                weightBlock.deallocate()
                columnBlock.deallocate()
            }
            runGEMMTask(task, geometry, plan, buffers, &plane,
                        weightBlock.assumingMemoryBound(to: Float.self), columnBlock.assumingMemoryBound(to: Float.self))
        }
    }

    private func runGEMMTask(_ task: Int, _ geometry: ConvolutionGeometry, _ plan: GEMMPlan, _ buffers: KernelBuffers,
                             _ plane: inout ck_conv_plane,
                             _ packedWeights: UnsafeMutablePointer<Float>, _ packedColumns: UnsafeMutablePointer<Float>) {
        let mr = GEMMPlan.mr, nr = GEMMPlan.nr
        let pixelTask = task % plan.pixelTasks
        let channelTask = task / plan.pixelTasks % plan.channelTasks
        let image = task / (plan.pixelTasks * plan.channelTasks)
        let n = image / geometry.groups, group = image % geometry.groups
        let cg = geometry.inputChannelsPerGroup, kg = geometry.outputChannelsPerGroup
        let pixels = geometry.output.height * geometry.output.width
        let depth = geometry.reductionLength
        let firstChannel = channelTask * plan.taskChannels, endChannel = min(kg, firstChannel + plan.taskChannels)
        let firstPixel = pixelTask * plan.taskPixels, endPixel = min(pixels, firstPixel + plan.taskPixels)

        let input = buffers.input + (n * geometry.input.channels + group * cg) * geometry.input.height * geometry.input.width
        let weights = buffers.weights + group * kg * depth
        let output = buffers.output + (n * geometry.output.channels + group * kg) * pixels
        let bias = buffers.bias.map { $0 + group * kg }
        var epilogue = ck_epilogue(geometry.activation)
        let fused = geometry.activation != .identity

        for pixel0 in stride(from: firstPixel, to: endPixel, by: plan.pixelBlock) {
            let columns = min(plan.pixelBlock, endPixel - pixel0)
            for q0 in stride(from: 0, to: depth, by: plan.depthBlock) {
                let taps = min(plan.depthBlock, depth - q0)
                ck_pack_im2col(&plane, input, Int32(q0), Int32(taps), pixel0, Int32(columns), packedColumns)
                let accumulate: Int32 = q0 > 0 ? 1 : 0
                let last = q0 + taps == depth
                for channel0 in stride(from: firstChannel, to: endChannel, by: plan.channelBlock) {
                    let rows = min(plan.channelBlock, endChannel - channel0)
                    ck_pack_weights(weights + channel0 * depth + q0, depth, Int32(rows), Int32(taps), packedWeights)
                    for column in stride(from: 0, to: columns, by: nr) {
                        let panel = packedColumns + column * taps
                        let tileColumns = Int32(min(nr, columns - column))
                        for row in stride(from: 0, to: rows, by: mr) {
                            let channel = channel0 + row
                            withUnsafePointer(to: &epilogue) { act in
                                ck_gemm_tile(Int32(taps), packedWeights + row * taps, panel,
                                             output + channel * pixels + pixel0 + column, pixels,
                                             Int32(min(mr, rows - row)), tileColumns,
                                             q0 == 0 ? bias.map { $0 + channel } : nil, accumulate,
                                             last && fused ? act : nil)
                            }
                        }
                    }
                }
            }
        }
    }
}
