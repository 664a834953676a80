/// The textbook convolution loops of `semantics.md`, accumulated in float64.
///
/// Single-threaded and deliberately plain: it is the oracle every other backend is
/// checked against, so it favours being obviously right over being fast.
public struct ReferenceBackend: ConvolutionBackend {
    /// `"reference"`.
    public let name = "reference"
    /// The host CPU.
    public let device = ComputeDevice(kind: .cpu, name: "float64 reference loops", vendor: "ConvKit", computeUnits: 1)

    /// Creates the reference backend.
    public init() {}

    /// Every valid geometry is supported.
    public func support(for geometry: ConvolutionGeometry) -> BackendSupport { .supported }

    /// Pools in float64 (see ``pool(_:input:)``) and rounds each element to float32.
    public func executePool(_ geometry: PoolGeometry, input: UnsafeBufferPointer<Float>,
                            output: UnsafeMutableBufferPointer<Float>) throws {
        for (index, value) in Self.pool(geometry, input: input).enumerated() { output[index] = Float(value) }
    }

    /// Computes the convolution in float64 and rounds each element once to float32.
    public func execute(_ geometry: ConvolutionGeometry, input: UnsafeBufferPointer<Float>,
                        weights: UnsafeBufferPointer<Float>, bias: UnsafeBufferPointer<Float>?,
                        output: UnsafeMutableBufferPointer<Float>) throws {
        let result = Self.evaluate(geometry, input: input, weights: weights, bias: bias)
        for index in output.indices { output[index] = Float(result.values[index]) }
    }

    /// The exact-as-possible sums and the magnitudes the error bound scales with.
    ///
    /// - Returns: `values[i]` is `act(b[k] + Σ x̂·w)` in float64; `magnitudes[i]` is
    ///   `|b[k]| + Σ |x̂·w|`, the scale of `semantics.md`'s agreement bound (every
    ///   supported activation is 1-Lipschitz, so the bound carries through it).
    public static func evaluate(_ geometry: ConvolutionGeometry, input: UnsafeBufferPointer<Float>,
                                weights: UnsafeBufferPointer<Float>,
                                bias: UnsafeBufferPointer<Float>?) -> (values: [Double], magnitudes: [Double]) {
        let x = geometry.input, f = geometry.filter, y = geometry.output
        let cg = geometry.inputChannelsPerGroup, kg = geometry.outputChannelsPerGroup
        let stride = geometry.stride, dilation = geometry.dilation, pad = geometry.padding
        var values = [Double](repeating: 0, count: y.elementCount)
        var magnitudes = values
        var out = 0
        for n in 0..<y.batch {
            for k in 0..<y.channels {
                let group = k / kg
                let b = bias.map { Double($0[k]) } ?? 0
                for i in 0..<y.height {
                    for j in 0..<y.width {
                        var sum = b, magnitude = abs(b)
                        for c in 0..<cg {
                            for r in 0..<f.height {
                                let padded = i * stride.height - pad.top + r * dilation.height
                                guard let h = geometry.border.sourceIndex(padded, extent: x.height) else { continue }
                                for s in 0..<f.width {
                                    let paddedColumn = j * stride.width - pad.left + s * dilation.width
                                    guard let w = geometry.border.sourceIndex(paddedColumn, extent: x.width) else { continue }
                                    let xv = Double(input[((n * x.channels + group * cg + c) * x.height + h) * x.width + w])
                                    let wv = Double(weights[((k * f.channels + c) * f.height + r) * f.width + s])
                                    sum += xv * wv
                                    magnitude += abs(xv * wv)
                                }
                            }
                        }
                        values[out] = geometry.activation.apply(sum)
                        magnitudes[out] = magnitude
                        out += 1
                    }
                }
            }
        }
        return (values, magnitudes)
    }
}
