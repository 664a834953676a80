import ConvKitCore
import ConvKitCPU
import Testing

/// Fused activations on every CPU algorithm: the fused output equals the unfused output
/// with ``Activation/apply(_:)-(Float)`` applied afterwards, and the reference.
@Suite struct CPUEpilogueTests {
    static let activations: [Activation] = [.identity, .relu, .relu6, .clamp(lower: -2, upper: 3.5),
                                            .leakyRelu(alpha: 0.1), .sigmoid, .tanh]
    static let algorithms: [CPUAlgorithm] = [.direct, .gemm]

    /// A subset of the conv grid: padding × stride × dilation × kernel × size × grouping.
    static func cases(_ activation: Activation) -> [ConvolutionCase] {
        var cases: [ConvolutionCase] = []
        var seed: UInt64 = 1
        for padding in [Padding.valid, .same, .explicit(top: 0, bottom: 2, left: 1, right: 0)] {
            for stride in [Size2D(1), Size2D(2), Size2D(height: 1, width: 2)] {
                for dilation in [Size2D(1), Size2D(height: 2, width: 1)] {
                    for kernel in [Size2D(1), Size2D(3), Size2D(height: 1, width: 3)] {
                        for (channels, outputs, groups) in [(2, 4, 1), (4, 6, 2), (3, 3, 3)] {
                            seed += 1
                            let descriptor = Conv2DDescriptor(stride: stride, dilation: dilation, padding: padding,
                                                              groups: groups, activation: activation)
                            let size = seed % 2 == 0 ? TensorShape(1, channels, 7, 9) : TensorShape(2, channels, 8, 6)
                            guard let built = try? ConvolutionCase(input: size, outputChannels: outputs, kernel: kernel,
                                                                   descriptor: descriptor, bias: seed % 3 != 0,
                                                                   integers: true, seed: seed)
                            else { continue }
                            cases.append(built)
                        }
                    }
                }
            }
        }
        // 360 taps: deeper than one GEMM depth block (the epilogue belongs to the last),
        // and above the inline threshold, so two threads really split it.
        let large = Conv2DDescriptor(padding: .symmetric(height: 1, width: 1), activation: activation)
        cases.append(try! ConvolutionCase(input: TensorShape(1, 40, 20, 21), outputChannels: 8, kernel: Size2D(3),
                                          descriptor: large, bias: true, integers: true, seed: 99))
        return cases
    }

    /// The same case with the identity epilogue (identical data: it depends on the seed only).
    static func unfused(_ testCase: ConvolutionCase, integers: Bool) throws -> ConvolutionCase {
        var descriptor = testCase.descriptor
        descriptor.activation = .identity
        var plain = try ConvolutionCase(input: testCase.geometry.input, outputChannels: testCase.geometry.filter.batch,
                                        kernel: testCase.geometry.kernel, descriptor: descriptor,
                                        bias: testCase.bias != nil, integers: integers, seed: 0)
        plain.input = testCase.input
        return plain.with(weights: testCase.weights, bias: testCase.bias)
    }

    /// Units in the last place between two floats, NaN equal to NaN.
    static func ulps(_ a: Float, _ b: Float) -> Int {
        if a.isNaN || b.isNaN { return a.isNaN && b.isNaN ? 0 : .max }
        if a == b { return 0 }
        return Int((a - b).magnitude / max(a.ulp, b.ulp).magnitude)
    }

    /// Within 4 ulps of the float64 value, or both below the normal range: float32
    /// `1 / (1 + expf(−x))` underflows to 0 for x below about −88.7, where the float64
    /// value is a float32 subnormal (``Activation/apply(_:)-(Float)`` does the same).
    static func nearReference(_ value: Float, _ reference: Double) -> Bool {
        ulps(value, Float(reference)) <= 4
            || (abs(Double(value)) < Double(Float.leastNormalMagnitude) && abs(reference) < Double(Float.leastNormalMagnitude))
    }

    /// Compares fused with `apply(unfused)`: bitwise for piecewise-linear, ≤ 4 ulps otherwise.
    @discardableResult
    static func expectFusedEqualsUnfused(_ fused: [Float], _ unfused: [Float], _ activation: Activation, _ label: String,
                                         sourceLocation: SourceLocation = #_sourceLocation) -> Bool {
        for index in fused.indices {
            let expected = activation.apply(unfused[index])
            let ok = activation.isPiecewiseLinear
                ? (expected.isNaN ? fused[index].isNaN : fused[index].bitPattern == expected.bitPattern)
                : ulps(fused[index], expected) <= 4
            if !ok {
                Issue.record("\(label): index \(index) fused \(fused[index]) vs apply(unfused) \(expected)",
                             sourceLocation: sourceLocation)
                return false
            }
        }
        return true
    }

    @Test("fused activation equals apply-afterwards and the reference", arguments: activations)
    func fused(activation: Activation) throws {
        var failures = 0
        for testCase in Self.cases(activation) where failures < 5 {
            let reference = testCase.reference().values
            let plain = try Self.unfused(testCase, integers: true)
            for algorithm in Self.algorithms {
                for threads in [1, 2] {
                    let backend = CPUBackend(threads: threads, algorithm: algorithm)
                    let label = "\(activation) \(algorithm) threads \(threads) \(testCase)"
                    let output = try testCase.run(backend)
                    if !Self.expectFusedEqualsUnfused(output, try plain.run(backend), activation, label) { failures += 1 }
                    if activation.isPiecewiseLinear {
                        if !testCase.expectExact(output, reference, label) { failures += 1 }
                    } else if let index = reference.indices.first(where: { !Self.nearReference(output[$0], reference[$0]) }) {
                        Issue.record("\(label): index \(index) got \(output[index]), reference \(reference[index])")
                        failures += 1
                    }
                }
            }
        }
    }

    @Test("random floats with NaNs: fused equals apply-afterwards bit for bit", arguments: activations)
    func randomFloatsAndNaN(activation: Activation) throws {
        let shapes: [(TensorShape, Int, Size2D, Conv2DDescriptor)] = [
            (TensorShape(1, 70, 12, 37), 14, Size2D(3), Conv2DDescriptor(padding: .same)),
            (TensorShape(2, 8, 11, 40), 8, Size2D(3), Conv2DDescriptor(padding: .same, groups: 8)),
            (TensorShape(1, 16, 9, 33), 7, Size2D(1), Conv2DDescriptor()),
        ]
        for (index, (shape, outputs, kernel, base)) in shapes.enumerated() {
            var descriptor = base
            descriptor.activation = activation
            var testCase = try ConvolutionCase(input: shape, outputChannels: outputs, kernel: kernel,
                                               descriptor: descriptor, bias: true, integers: false,
                                               seed: UInt64(300 + index))
            // Values of both signs around zero exercise every branch; a few NaNs check propagation.
            for position in stride(from: 5, to: testCase.input.count, by: 997) { testCase.input[position] = .nan }
            let plain = try Self.unfused(testCase, integers: false)
            for algorithm in Self.algorithms {
                for threads in [1, 2] {
                    let backend = CPUBackend(threads: threads, algorithm: algorithm)
                    let unfused = try plain.run(backend)
                    #expect(unfused.contains { $0.isNaN } && unfused.contains { $0 < 0 } && unfused.contains { $0 > 0 })
                    Self.expectFusedEqualsUnfused(try testCase.run(backend), unfused, activation,
                                                  "\(activation) \(algorithm) threads \(threads) \(testCase)")
                }
            }
        }
    }

    @Test("bounds, infinities, subnormals and NaN go through the epilogue as Activation.apply takes them")
    func edgeValues() throws {
        // A 1×1 unit filter passes the input through, so the epilogue sees these values.
        let values: [Float] = [-0.0, 0, -1, 7, 6, 3.5, -2, .infinity, -.infinity, .nan, 1e-40, -1e-40, 100, -100]
        let input = try Tensor(shape: TensorShape(1, 1, 1, values.count), scalars: values)
        let weights = try Tensor(shape: TensorShape(1, 1, 1, 1), scalars: [1])
        for algorithm in Self.algorithms {
            let backend = CPUBackend(algorithm: algorithm)
            let unfused = try backend.convolve(input, weights: weights, descriptor: Conv2DDescriptor())
            #expect(unfused.scalars.filter { !$0.isNaN } == values.filter { !$0.isNaN })
            for activation in Self.activations {
                let output = try backend.convolve(input, weights: weights, descriptor: Conv2DDescriptor(activation: activation))
                Self.expectFusedEqualsUnfused(output.scalars, unfused.scalars, activation,
                                              "\(activation) \(algorithm) edge values")
            }
        }
    }
}

extension ConvolutionCase {
    /// The case with other weights and bias (shapes unchanged).
    func with(weights: [Float], bias: [Float]?) -> ConvolutionCase {
        var copy = self
        copy.weights = weights
        copy.bias = bias
        return copy
    }
}
