import ConvKitCore
@testable import ConvKitOpenCL
import Testing
import _ConvKitTestSupport

/// The fused epilogue `y = act(conv + b)` in both convolution kernels.
///
/// Fused must equal the unfused kernel followed by ``Activation/apply(_:)-(Float)``: bit
/// for bit for the piecewise-linear functions, within ``transcendentalUlps`` for sigmoid
/// and tanh (the device's `exp`/`tanh` against the host's; PoCL measured within 1 ulp).
/// With small-integer data the piecewise-linear results also equal the float64 reference
/// exactly; with random floats every function stays within the direct τ.
@Suite("OpenCL fused activations")
struct EpilogueTests {
    static let activations: [Activation] = [.identity, .relu, .relu6, .clamp(lower: -2.5, upper: 4),
                                            .leakyRelu(alpha: 0.1), .sigmoid, .tanh]
    /// The ulp distance allowed between fused sigmoid/tanh and the host's function.
    static let transcendentalUlps = 4

    /// A subset of the cross-check grid: both same-style paddings and an asymmetric one,
    /// strides with H ≠ W, dilation, square and non-square kernels, plain/grouped/depthwise.
    static func problems(seed: UInt64, value: (inout SeededGenerator) -> Float) throws -> [Problem] {
        var generator = SeededGenerator(seed: seed)
        var result: [Problem] = []
        for padding in [Padding.same, .explicit(top: 0, bottom: 2, left: 1, right: 0)] {
            for stride in [Size2D(1), Size2D(height: 1, width: 2)] {
                for kernel in [Size2D(1), Size2D(3), Size2D(height: 3, width: 2)] {
                    for dilation in [Size2D(1), Size2D(2)] {
                        for (channels, filters, groups) in [(3, 5, 1), (4, 10, 2), (3, 3, 3)] {
                            let descriptor = Conv2DDescriptor(stride: stride, dilation: dilation, padding: padding, groups: groups)
                            let shape = TensorShape(1 + result.count % 2, channels, 7, 9)
                            guard let problem = try? Problem(input: shape, filters: filters, kernel: kernel,
                                                             descriptor: descriptor, bias: result.count % 3 != 0,
                                                             generator: &generator, value: value) else { continue }
                            result.append(problem)
                        }
                    }
                }
            }
        }
        return result
    }

    @Test("fused equals unfused + apply, and the reference, on small integers",
          .enabled(if: TestDevice.shouldRun, TestDevice.skipReason), arguments: activations)
    func smallIntegers(activation: Activation) throws {
        guard requireDevice() else { return }
        let problems = try Self.problems(seed: 0xACE, value: Problem.smallInteger)
        #expect(problems.count > 50)
        for kernel in [KernelChoice.direct, .tiled, .igemm] {
            let backend = try TestDevice.backend(kernel)
            for plain in problems {
                let fused = try plain.with(activation)
                let output = try fused.run(on: backend)
                let unfused = try plain.run(on: backend).map(activation.apply)
                let context = "\(activation) \(backend.configuration(for: fused.geometry)) \(plain)"
                if activation.isPiecewiseLinear {
                    expectIdentical(output, unfused, context)
                    expectExact(output, fused.reference().values.map { Double(Float($0)) }, context)
                } else {
                    expectWithinUlps(output, unfused, Self.transcendentalUlps, context)
                }
            }
        }
    }

    @Test("random floats stay within τ of the reference (plus the function's ulps)",
          .enabled(if: TestDevice.shouldRun, TestDevice.skipReason), arguments: activations)
    func randomFloats(activation: Activation) throws {
        guard requireDevice() else { return }
        let problems = try Self.problems(seed: 0xF1, value: Problem.uniform).enumerated().filter { $0.offset % 4 == 0 }.map(\.element)
        for kernel in [KernelChoice.direct, .tiled, .igemm] {
            let backend = try TestDevice.backend(kernel)
            for plain in problems {
                let fused = try plain.with(activation)
                let output = try fused.run(on: backend)
                let reference = fused.reference()
                let tau = Agreement.directTau(for: fused.geometry)
                for index in output.indices {
                    let error = abs(Double(output[index]) - reference.values[index])
                    // Sigmoid and tanh add their own rounding: a few ulps of the result.
                    let functionUlps = activation.isPiecewiseLinear ? 0
                        : Double(Self.transcendentalUlps) * Double(Float(reference.values[index]).ulp)
                    let bound = tau * Agreement.epsilon * reference.magnitudes[index] + functionUlps
                    guard error <= bound else {
                        Issue.record(Comment(rawValue: "\(activation) element \(index): got \(output[index]), reference "
                                             + "\(reference.values[index]), error \(error) > \(bound) — \(plain)"))
                        break
                    }
                }
            }
        }
    }

    @Test("relu, relu6 and clamp keep NaN; leaky relu scales negatives; sigmoid saturates",
          .enabled(if: TestDevice.shouldRun, TestDevice.skipReason))
    func specialValues() throws {
        guard requireDevice() else { return }
        // A 1×1 identity filter with bias passes the input through the epilogue unchanged.
        let values: [Float] = [.nan, -.infinity, .infinity, -200, -7, -1, -0.5, 0, 0.5, 3, 6, 7, 200]
        let geometry = try Conv2DDescriptor().resolve(input: TensorShape(1, 1, 1, values.count),
                                                      weights: TensorShape(1, 1, 1, 1), biasCount: 1)
        for kernel in [KernelChoice.direct, .tiled, .igemm] {
            let backend = try TestDevice.backend(kernel)
            for activation in Self.activations {
                var descriptor = Conv2DDescriptor()
                descriptor.activation = activation
                let fused = try descriptor.resolve(input: geometry.input, weights: geometry.filter, biasCount: 1)
                let problem = Problem(geometry: fused, input: values, weights: [1], bias: [0])
                let output = try problem.run(on: backend)
                let expected = values.map { activation.apply($0 + 0) }
                if activation.isPiecewiseLinear {
                    expectIdentical(output, expected, "\(activation) on \(kernel)")
                } else {
                    expectWithinUlps(output, expected, Self.transcendentalUlps, "\(activation) on \(kernel)")
                }
            }
        }
    }
}

extension Problem {
    /// The same problem and data with `activation` fused.
    func with(_ activation: Activation) throws -> Problem {
        var descriptor = Conv2DDescriptor(stride: geometry.stride, dilation: geometry.dilation,
                                          padding: .explicit(top: geometry.padding.top, bottom: geometry.padding.bottom,
                                                             left: geometry.padding.left, right: geometry.padding.right),
                                          groups: geometry.groups, border: geometry.border)
        descriptor.activation = activation
        let fused = try descriptor.resolve(input: geometry.input, weights: geometry.filter, biasCount: bias?.count)
        return Problem(geometry: fused, input: input, weights: weights, bias: bias)
    }
}
