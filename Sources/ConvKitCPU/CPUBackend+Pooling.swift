import ConvKitCore

extension CPUBackend {
    /// Pools on the calling thread (placeholder until the CPU pooling kernels land).
    public func executePool(_ geometry: PoolGeometry, input: UnsafeBufferPointer<Float>,
                            output: UnsafeMutableBufferPointer<Float>) throws {
        try ReferenceBackend().executePool(geometry, input: input, output: output)
    }
}
