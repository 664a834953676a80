/// How closely one backend's output matches the float64 reference.
///
/// The bound of `semantics.md`: `|y − ref| ≤ τ · ε · (Σ|x̂·w| + |b|)` with `ε = 2⁻²³`. The
/// ratio `|y − ref| / (ε · magnitude)` is what `τ` must cover; an element whose
/// magnitude is 0 must be exactly 0. The bound is per element and not transitive: two
/// backends that each agree with the reference may differ from each other by twice it.
public struct Agreement: Hashable, Sendable {
    /// The number of elements compared.
    public private(set) var count = 0
    /// Elements whose float32 value equals the correctly rounded reference.
    public private(set) var exactMatches = 0
    /// The largest `|y − ref| / (ε · magnitude)` seen (infinite for a NaN mismatch or a
    /// nonzero error at zero magnitude).
    public private(set) var worstRatio = 0.0
    /// The flat index where ``worstRatio`` occurred.
    public private(set) var worstIndex = 0

    /// `2⁻²³`, the float32 unit roundoff used by the bound.
    public static let epsilon = 1.0 / 8_388_608.0

    /// The τ ConvKit documents for its exact-order algorithms (direct and GEMM sums):
    /// float32 accumulation of a length-`n` sum errs by at most about `n·ε` relative to
    /// `Σ|x·w|`; `reductionLength + 2` covers the sum, the bias and the final rounding.
    public static func directTau(for geometry: ConvolutionGeometry) -> Double {
        Double(geometry.reductionLength + 2)
    }

    /// Creates an empty comparison.
    public init() {}

    /// Compares `output` with the reference `values`, scaled by `magnitudes`.
    ///
    /// - Parameters:
    ///   - output: The backend's result.
    ///   - values: ``ReferenceBackend/evaluate(_:input:weights:bias:)`` values.
    ///   - magnitudes: The matching magnitudes.
    public init(output: UnsafeBufferPointer<Float>, values: [Double], magnitudes: [Double]) {
        for index in 0..<min(output.count, values.count) {
            record(Double(output[index]), reference: values[index], magnitude: magnitudes[index], at: index)
        }
    }

    /// Adds one element to the comparison.
    public mutating func record(_ value: Double, reference: Double, magnitude: Double, at index: Int) {
        count += 1
        let rounded = Double(Float(reference))
        let ratio: Double
        if value == rounded || (value.isNaN && reference.isNaN) {
            exactMatches += 1
            ratio = 0
        } else if value.isNaN || reference.isNaN || value.isInfinite || rounded.isInfinite {
            ratio = .infinity
        } else {
            let error = abs(value - reference)
            ratio = magnitude == 0 ? (error == 0 ? 0 : .infinity) : error / (Agreement.epsilon * magnitude)
        }
        if ratio > worstRatio {
            worstRatio = ratio
            worstIndex = index
        }
    }

    /// Whether every element matched the rounded reference exactly.
    public var isExact: Bool { exactMatches == count }

    /// Whether every element lies within `tau`.
    public func holds(tau: Double) -> Bool { worstRatio <= tau }
}
