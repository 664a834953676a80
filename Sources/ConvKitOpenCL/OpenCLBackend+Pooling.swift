import ConvKitCore

extension OpenCLBackend {
    /// Pooling is not on the device yet.
    public func executePool(_ geometry: PoolGeometry, input: UnsafeBufferPointer<Float>,
                            output: UnsafeMutableBufferPointer<Float>) throws {
        throw BackendError.unsupported(backend: name, reason: "pooling is not implemented on OpenCL yet")
    }
}
