extension ConvolutionDispatcher {
    /// Validates, selects a backend, runs, and falls back to the CPU on a device failure.
    ///
    /// - Parameters:
    ///   - input: The input, `N×C×H×W`.
    ///   - weights: The filters, `K×(C/groups)×R×S`.
    ///   - bias: `K` values, or `nil`.
    ///   - descriptor: Stride, dilation, padding, groups, border and fused activation.
    ///   - device: The backend to use; `nil` follows `CONVKIT_DEVICE`, then `auto`.
    /// - Returns: The output and the selection that produced it.
    /// - Throws: ``ConvolutionError`` for invalid input (never retried),
    ///   ``DispatchError`` for an unknown device or a failure in strict mode, or the CPU's
    ///   own error if the fallback fails too.
    public func convolve(_ input: Tensor, weights: Tensor, bias: [Float]? = nil, descriptor: Conv2DDescriptor,
                         device: DeviceRequest? = nil) throws -> (output: Tensor, selection: BackendSelection) {
        let geometry = try descriptor.resolve(input: input.shape, weights: weights.shape, biasCount: bias?.count)
        let selection = try select(device, for: geometry)
        logger.debug("convolution \(geometry.input) → \(geometry.output): \(selection)")
        return try withFallback(selection) { try $0.convolve(input, weights: weights, bias: bias, descriptor: descriptor) }
    }

    /// Validates, selects a backend, pools, and falls back to the CPU on a device failure.
    ///
    /// - Parameters:
    ///   - input: The input, `N×C×H×W`.
    ///   - descriptor: Mode, window, stride, dilation, padding, ceil mode, divisor rule.
    ///   - device: The backend to use; `nil` follows `CONVKIT_DEVICE`, then `auto`.
    /// - Returns: The pooled maps and the selection that produced them.
    /// - Throws: As ``convolve(_:weights:bias:descriptor:device:)``.
    public func pool(_ input: Tensor, descriptor: Pool2DDescriptor,
                     device: DeviceRequest? = nil) throws -> (output: Tensor, selection: BackendSelection) {
        _ = try descriptor.resolve(input: input.shape)
        let selection = try select(device)
        return try withFallback(selection) { try $0.pool(input, descriptor: descriptor) }
    }

    /// Runs `body` on the selected backend; a device failure (anything but a caller
    /// mistake) reruns it on the CPU unless strict mode is on.
    func withFallback<R>(_ selection: BackendSelection,
                         _ body: (any ConvolutionBackend) throws -> R) throws -> (output: R, selection: BackendSelection) {
        do {
            return (try body(selection.backend), selection)
        } catch let error as ConvolutionError {
            throw error
        } catch {
            let failed = selection.backend.name
            guard failed != "cpu", let cpu = backend(named: "cpu") else { throw error }
            guard !strict else { throw DispatchError.deviceFailed(backend: failed, reason: "\(error)") }
            logger.warning("\(failed) failed, rerunning on cpu: \(error)")
            let fallback = BackendSelection(backend: cpu, reason: "fallback", fallback: (failed, "\(error)"))
            return (try body(cpu), fallback)
        }
    }
}
