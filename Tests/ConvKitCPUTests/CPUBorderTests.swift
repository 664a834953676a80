import ConvKitCore
import ConvKitCPU
import Testing

/// Border modes on every CPU algorithm against an oracle that materialises the padded
/// input with the border rule (written here independently of ``BorderMode/sourceIndex(_:extent:)``)
/// and convolves it with `.valid` padding on the reference.
@Suite struct CPUBorderTests {
    static let borders: [BorderMode] = [.reflect, .replicate, .circular]

    /// The input index a padded index reads, by each rule's own definition.
    static func source(_ index: Int, _ extent: Int, _ border: BorderMode) -> Int {
        switch border {
        case .zeros: fatalError("zeros has no source index")  // never asked: the oracle pads with 0 itself
        case .replicate: return min(max(index, 0), extent - 1)
        case .circular: return ((index % extent) + extent) % extent
        case .reflect:
            guard extent > 1 else { return 0 }
            // Mirror without repeating the edge: period 2(n−1).
            let period = 2 * (extent - 1)
            let folded = ((index % period) + period) % period
            return folded < extent ? folded : period - folded
        }
    }

    /// The reference output of `testCase` computed on an explicitly padded copy.
    static func oracle(_ testCase: ConvolutionCase) throws -> [Double] {
        let geometry = testCase.geometry, pad = geometry.padding, x = geometry.input
        let padded = TensorShape(x.batch, x.channels, x.height + pad.top + pad.bottom, x.width + pad.left + pad.right)
        var copy = [Float](repeating: 0, count: padded.elementCount)
        var index = 0
        for plane in 0..<(x.batch * x.channels) {
            for h in 0..<padded.height {
                let sourceRow = source(h - pad.top, x.height, geometry.border)
                for w in 0..<padded.width {
                    copy[index] = testCase.input[(plane * x.height + sourceRow) * x.width
                        + source(w - pad.left, x.width, geometry.border)]
                    index += 1
                }
            }
        }
        var descriptor = testCase.descriptor
        descriptor.padding = .valid
        descriptor.border = .zeros
        let valid = try descriptor.resolve(input: padded, weights: geometry.filter,
                                           biasCount: testCase.bias.map { $0.count })
        #expect(valid.output == geometry.output)
        return copy.withUnsafeBufferPointer { x in
            testCase.weights.withUnsafeBufferPointer { w in
                testCase.bias.withUnsafeBufferPointerOrNil { ReferenceBackend.evaluate(valid, input: x, weights: w, bias: $0).values }
            }
        }
    }

    static func cases(_ border: BorderMode) -> [ConvolutionCase] {
        var cases: [ConvolutionCase] = []
        var seed: UInt64 = 1
        for padding in [Padding.same, .sameLower, .explicit(top: 1, bottom: 1, left: 1, right: 1),
                        .explicit(top: 0, bottom: 2, left: 1, right: 0), .explicit(top: 2, bottom: 1, left: 0, right: 3)] {
            for stride in [Size2D(1), Size2D(2), Size2D(height: 1, width: 2)] {
                for dilation in [Size2D(1), Size2D(height: 2, width: 1)] {
                    for kernel in [Size2D(2), Size2D(3), Size2D(height: 1, width: 3)] {
                        for (channels, outputs, groups) in [(2, 4, 1), (4, 6, 2), (3, 3, 3)] {
                            seed += 1
                            let size = [TensorShape(1, channels, 7, 9), TensorShape(2, channels, 8, 6),
                                        TensorShape(1, channels, 3, 2)][Int(seed % 3)]
                            let descriptor = Conv2DDescriptor(stride: stride, dilation: dilation, padding: padding,
                                                              groups: groups, border: border)
                            // Reflect and circular reject pads past their reach.
                            guard let built = try? ConvolutionCase(input: size, outputChannels: outputs, kernel: kernel,
                                                                   descriptor: descriptor, bias: seed % 2 == 0,
                                                                   integers: true, seed: seed)
                            else { continue }
                            cases.append(built)
                        }
                    }
                }
            }
        }
        // Crosses GEMM depth/pixel blocks and the direct kernel's 32-column vector blocks.
        cases.append(try! ConvolutionCase(input: TensorShape(1, 40, 20, 41), outputChannels: 8, kernel: Size2D(3),
                                          descriptor: Conv2DDescriptor(padding: .symmetric(height: 1, width: 2),
                                                                       border: border, activation: .relu),
                                          bias: true, integers: true, seed: 77))
        cases.append(try! ConvolutionCase(input: TensorShape(2, 12, 21, 45), outputChannels: 12, kernel: Size2D(5),
                                          descriptor: Conv2DDescriptor(padding: .same, groups: 12, border: border),
                                          bias: true, integers: true, seed: 78))
        return cases
    }

    @Test("border modes equal the padded-copy oracle exactly on integer data", arguments: borders)
    func border(border: BorderMode) throws {
        let cases = Self.cases(border)
        #expect(cases.count > 240)
        var failures = 0
        for testCase in cases where failures < 5 {
            let oracle = try Self.oracle(testCase)
            for algorithm in [CPUAlgorithm.direct, .gemm] {
                for threads in [1, 2] {
                    let output = try testCase.run(CPUBackend(threads: threads, algorithm: algorithm))
                    if !testCase.expectExact(output, oracle, "\(border) \(algorithm) threads \(threads)") { failures += 1 }
                }
            }
        }
    }

    @Test("the CPU backend supports every border and activation")
    func support() throws {
        for border in BorderMode.allCases {
            for activation in CPUEpilogueTests.activations {
                let geometry = try Conv2DDescriptor(padding: .same, border: border, activation: activation)
                    .resolve(input: TensorShape(1, 2, 5, 5), weights: TensorShape(3, 2, 3, 3))
                #expect(CPUBackend().support(for: geometry) == .supported)
            }
        }
    }
}
