import ConvKitCore

extension KernelConfiguration {
    /// The one pooling configuration on `device`: `pool2d.cl` with the direct kernel's
    /// work-group (fitted to the device; its `WG_X·WG_Y` lanes, a power of two, also size
    /// the global reduction) and correctly rounded division where the device offers it.
    static func pool(on device: OpenCLDeviceInfo) -> KernelConfiguration {
        KernelConfiguration(file: .pool, workGroup: fittedWorkGroup(directWorkGroup, on: device), channelBlock: 1,
                            unrolledKernel: nil, correctlyRoundedDivide: device.correctlyRoundedDivide)
    }

    /// The lanes of one `global_pool2d` work-group, `WG_X·WG_Y`.
    var reductionLanes: Int { workGroup.width * workGroup.height }

    /// Whether `geometry` reduces each whole map with no padding, dilation or overhang,
    /// so `global_pool2d` computes it.
    static func isGlobal(_ geometry: PoolGeometry) -> Bool {
        geometry.output.height == 1 && geometry.output.width == 1 && geometry.window == geometry.input.spatial
            && geometry.padding == PaddingAmounts(top: 0, bottom: 0, left: 0, right: 0)
            && geometry.dilation == Size2D(1)
    }

    /// Global and local NDRange sizes and the entry point for `geometry`.
    func launch(forPool geometry: PoolGeometry) -> (entryPoint: String, global: [Int], local: [Int]) {
        let output = geometry.output
        let planes = output.batch * output.channels
        if Self.isGlobal(geometry) {
            return (KernelFile.globalPoolEntryPoint, [reductionLanes * planes], [reductionLanes])
        }
        let columns = (output.width + workGroup.width - 1) / workGroup.width * workGroup.width
        let rows = (output.height + workGroup.height - 1) / workGroup.height * workGroup.height
        return (file.entryPoint, [columns, rows, planes], [workGroup.width, workGroup.height, 1])
    }
}
