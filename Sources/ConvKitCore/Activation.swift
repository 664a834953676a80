import Foundation

/// The function applied to each output after the bias: `y = act(conv + b)`.
///
/// Backends fuse it into their convolution kernels; the result equals applying it
/// afterwards (exactly for the piecewise-linear cases, within a few ulps for `sigmoid`
/// and `tanh`, whose device math libraries differ).
public enum Activation: Hashable, Sendable, CustomStringConvertible {
    /// `y = x`.
    case identity
    /// `y = max(x, 0)`.
    case relu
    /// `y = min(max(x, 0), 6)`.
    case relu6
    /// `y = min(max(x, lower), upper)`; requires `lower ≤ upper`.
    case clamp(lower: Float, upper: Float)
    /// `y = x` for `x ≥ 0`, `α·x` otherwise.
    case leakyRelu(alpha: Float)
    /// `y = 1 / (1 + e^(−x))`.
    case sigmoid
    /// `y = tanh(x)`.
    case tanh

    /// The CLI spelling: `relu`, `clamp:0,6`, `leaky-relu:0.1`, ...
    public var description: String {
        switch self {
        case .identity: "identity"
        case .relu: "relu"
        case .relu6: "relu6"
        case let .clamp(lower, upper): "clamp:\(lower),\(upper)"
        case let .leakyRelu(alpha): "leaky-relu:\(alpha)"
        case .sigmoid: "sigmoid"
        case .tanh: "tanh"
        }
    }

    /// A stable small integer per case, for kernels that switch on it.
    public var code: Int32 {
        switch self {
        case .identity: 0
        case .relu: 1
        case .relu6: 2
        case .clamp: 3
        case .leakyRelu: 4
        case .sigmoid: 5
        case .tanh: 6
        }
    }

    /// The two float parameters kernels receive: clamp bounds, or `α` and 0.
    public var parameters: (Float, Float) {
        switch self {
        case .relu6: (0, 6)
        case let .clamp(lower, upper): (lower, upper)
        case let .leakyRelu(alpha): (alpha, 0)
        default: (0, 0)
        }
    }

    /// Applies the function in float32, as a non-fused second pass would.
    @inlinable
    public func apply(_ x: Float) -> Float {
        switch self {
        case .identity: return x
        case .relu: return x.isNaN ? x : Swift.max(x, 0)
        case .relu6: return x.isNaN ? x : Swift.min(Swift.max(x, 0), 6)
        case let .clamp(lower, upper): return x.isNaN ? x : Swift.min(Swift.max(x, lower), upper)
        case let .leakyRelu(alpha): return x >= 0 ? x : alpha * x
        case .sigmoid: return 1 / (1 + Foundation.exp(-x))
        case .tanh: return Foundation.tanh(x)
        }
    }

    /// Applies the function in float64, as the reference does.
    public func apply(_ x: Double) -> Double {
        switch self {
        case .identity: return x
        case .relu: return x.isNaN ? x : Swift.max(x, 0)
        case .relu6: return x.isNaN ? x : Swift.min(Swift.max(x, 0), 6)
        case let .clamp(lower, upper): return x.isNaN ? x : Swift.min(Swift.max(x, Double(lower)), Double(upper))
        case let .leakyRelu(alpha): return x >= 0 ? x : Double(alpha) * x
        case .sigmoid: return 1 / (1 + Foundation.exp(-x))
        case .tanh: return Foundation.tanh(x)
        }
    }

    /// Whether the function is piecewise linear (fused and unfused results are then bit-equal).
    public var isPiecewiseLinear: Bool {
        switch self {
        case .sigmoid, .tanh: false
        default: true
        }
    }
}
