extension ConvolutionDispatcher {
    /// The dispatcher over every backend on this machine, opened once per process.
    ///
    /// OpenCL discovery runs here, serially, the first time `shared` is touched.
    public static let shared: ConvolutionDispatcher = {
        var backends: [any ConvolutionBackend] = [CPUBackend(), ReferenceBackend()]
        let (openCL, unavailable) = openCLBackends()
        backends += openCL
        return ConvolutionDispatcher(backends: backends, unavailable: unavailable)
    }()

    static func openCLBackends() -> ([any ConvolutionBackend], [UnavailableBackend]) {
        ([], [UnavailableBackend(name: "opencl", reason: "OpenCL backend not built yet")])
    }
}
