extension NPYArray {
    /// Creates a `.npy` array holding a tensor, shape `(N, C, H, W)`.
    public init(_ tensor: Tensor) {
        self.init(shape: tensor.shape.dimensions, scalars: tensor.scalars)
    }

    /// The array as a 4-D tensor.
    ///
    /// - Parameters:
    ///   - path: The file it came from, for error messages.
    ///   - role: What the tensor is for (`"input (N, C, H, W)"`), for error messages.
    /// - Throws: ``NPYError/wrongRank(path:expected:shape:)`` unless the array is 4-D with
    ///   every dimension ≥ 1.
    public func tensor(path: String, role: String) throws -> Tensor {
        guard shape.count == 4, shape.allSatisfy({ $0 >= 1 }) else {
            throw NPYError.wrongRank(path: path, expected: "a 4-D \(role) array with every dimension ≥ 1", shape: shape)
        }
        return try Tensor(shape: TensorShape(shape[0], shape[1], shape[2], shape[3]), scalars: scalars)
    }

    /// The array as a bias vector.
    ///
    /// - Parameter path: The file it came from, for error messages.
    /// - Throws: ``NPYError/wrongRank(path:expected:shape:)`` unless the array is 1-D.
    public func vector(path: String) throws -> [Float] {
        guard shape.count == 1 else {
            throw NPYError.wrongRank(path: path, expected: "a 1-D bias array of shape (K,)", shape: shape)
        }
        return scalars
    }
}
