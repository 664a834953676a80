import ConvKitOpenCL

extension ConvolutionDispatcher {
    /// The dispatcher over every backend on this machine, opened once per process.
    ///
    /// OpenCL discovery runs here, serially, the first time `shared` is touched; each
    /// device that opens becomes `opencl:N`, each that does not is listed with its reason.
    public static let shared: ConvolutionDispatcher = {
        let (openCL, unavailable) = openCLBackends()
        let threshold = Environment.value("CONVKIT_GPU_THRESHOLD_FLOPS").flatMap(Int.init) ?? defaultGPUThresholdFLOPs
        return ConvolutionDispatcher(backends: [CPUBackend(), ReferenceBackend()] + openCL, unavailable: unavailable,
                                     gpuThresholdFLOPs: threshold)
    }()

    static func openCLBackends() -> ([any ConvolutionBackend], [UnavailableBackend]) {
        let discovery = OpenCLRuntime.discover()
        var opened: [any ConvolutionBackend] = []
        var missing: [UnavailableBackend] = []
        for info in discovery.devices {
            do {
                opened.append(try OpenCLBackend(deviceIndex: info.index))
            } catch {
                missing.append(UnavailableBackend(name: "opencl:\(info.index)", reason: "\(error)"))
            }
        }
        if let failure = discovery.failure {
            missing.append(UnavailableBackend(name: "opencl", reason: "\(failure)"))
        }
        return (opened, missing)
    }
}
