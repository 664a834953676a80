/// How the input is padded before the filter slides over it.
///
/// `n` is the input extent on one axis, `s` the stride, `e = d·(k−1)+1` the effective
/// kernel extent and `t = max((⌈n/s⌉−1)·s + e − n, 0)` the total padding the `same`
/// modes need:
///
///     case       | output size        | begin / end
///     valid      | ⌊(n−e)/s⌋+1        | 0 / 0
///     same       | ⌈n/s⌉              | ⌊t/2⌋ / t−⌊t/2⌋   (extra at bottom/right)
///     sameLower  | ⌈n/s⌉              | t−⌊t/2⌋ / ⌊t/2⌋   (extra at top/left)
///     explicit   | ⌊(n+b+a−e)/s⌋+1    | b / a
///
/// `same` is ONNX `SAME_UPPER` and TensorFlow `SAME`; `sameLower` is ONNX `SAME_LOWER`;
/// PyTorch `padding=p` is `explicit(top: p, bottom: p, left: p, right: p)`.
public enum Padding: Hashable, Sendable, CustomStringConvertible {
    /// No padding: the filter stays inside the input.
    case valid
    /// Pad so the output is `⌈n/s⌉`; an odd total puts the extra cell at the bottom/right.
    case same
    /// Pad so the output is `⌈n/s⌉`; an odd total puts the extra cell at the top/left.
    case sameLower
    /// Pad by the given amounts, each ≥ 0.
    case explicit(top: Int, bottom: Int, left: Int, right: Int)

    /// Symmetric explicit padding: `height` rows above and below, `width` columns on each side.
    ///
    /// - Parameters:
    ///   - height: Rows added at the top and at the bottom.
    ///   - width: Columns added at the left and at the right.
    public static func symmetric(height: Int, width: Int) -> Padding {
        .explicit(top: height, bottom: height, left: width, right: width)
    }

    /// The amounts of an explicit padding; zeros for the modes that compute their own.
    public var explicitAmounts: PaddingAmounts {
        if case let .explicit(top, bottom, left, right) = self {
            return PaddingAmounts(top: top, bottom: bottom, left: left, right: right)
        }
        return PaddingAmounts(top: 0, bottom: 0, left: 0, right: 0)
    }

    /// The CLI spelling: `valid`, `same`, `same-lower`, or `top,bottom,left,right`.
    public var description: String {
        switch self {
        case .valid: "valid"
        case .same: "same"
        case .sameLower: "same-lower"
        case let .explicit(top, bottom, left, right): "\(top),\(bottom),\(left),\(right)"
        }
    }
}

/// The padding amounts a resolver chose, per edge.
public struct PaddingAmounts: Hashable, Sendable, CustomStringConvertible {
    /// Rows added above the input.
    public var top: Int
    /// Rows added below the input.
    public var bottom: Int
    /// Columns added left of the input.
    public var left: Int
    /// Columns added right of the input.
    public var right: Int

    /// Creates padding amounts from the four edges.
    public init(top: Int, bottom: Int, left: Int, right: Int) {
        self.top = top
        self.bottom = bottom
        self.left = left
        self.right = right
    }

    /// Whether every amount is zero.
    public var isZero: Bool { top == 0 && bottom == 0 && left == 0 && right == 0 }

    /// `(top: T, bottom: B, left: L, right: R)`.
    public var description: String { "(top: \(top), bottom: \(bottom), left: \(left), right: \(right))" }
}
