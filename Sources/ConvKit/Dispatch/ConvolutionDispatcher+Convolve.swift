extension ConvolutionDispatcher {
    /// Validates, selects a backend, runs, and falls back to the CPU on a device failure.
    ///
    /// - Parameters:
    ///   - input: The input, `N×C×H×W`.
    ///   - weights: The filters, `K×(C/groups)×R×S`.
    ///   - bias: `K` values, or `nil`.
    ///   - descriptor: Stride, dilation, padding and groups.
    ///   - device: The backend to use; `nil` follows `CONVKIT_DEVICE`, then `auto`.
    /// - Returns: The output and the selection that produced it.
    /// - Throws: ``ConvolutionError`` for invalid input (never retried),
    ///   ``DispatchError`` for an unknown device or a failure in strict mode, or the CPU's
    ///   own error if the fallback fails too.
    public func convolve(_ input: Tensor, weights: Tensor, bias: [Float]? = nil, descriptor: Conv2DDescriptor,
                         device: DeviceRequest? = nil) throws -> (output: Tensor, selection: BackendSelection) {
        let geometry = try descriptor.resolve(input: input.shape, weights: weights.shape, biasCount: bias?.count)
        var selection = try select(device, for: geometry)
        logger.debug("convolution \(geometry.input) → \(geometry.output): \(selection)")
        do {
            return (try selection.backend.convolve(input, weights: weights, bias: bias, descriptor: descriptor), selection)
        } catch let error as ConvolutionError {
            throw error
        } catch {
            let failed = selection.backend.name
            guard failed != "cpu", let cpu = backend(named: "cpu") else { throw error }
            guard !strict else { throw DispatchError.deviceFailed(backend: failed, reason: "\(error)") }
            logger.warning("\(failed) failed, rerunning on cpu: \(error)")
            selection = BackendSelection(backend: cpu, reason: "fallback", fallback: (failed, "\(error)"))
            return (try cpu.convolve(input, weights: weights, bias: bias, descriptor: descriptor), selection)
        }
    }
}
