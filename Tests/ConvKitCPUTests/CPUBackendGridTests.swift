import ConvKitCore
import ConvKitCPU
import Testing

/// The cross-check grid of `design.md`: every padding mode × stride × dilation × kernel ×
/// odd/even size × groups × batch, against the float64 reference, bit for bit.
@Suite struct CPUBackendGridTests {
    static let paddings: [Padding] = [.valid, .same, .sameLower, .symmetric(height: 1, width: 2),
                                      .explicit(top: 0, bottom: 2, left: 1, right: 0)]
    static let strides = [Size2D(1), Size2D(2), Size2D(3), Size2D(height: 1, width: 2)]
    static let dilations = [Size2D(1), Size2D(2), Size2D(height: 2, width: 1)]
    static let kernels = [Size2D(1), Size2D(2), Size2D(3), Size2D(5), Size2D(height: 1, width: 3),
                          Size2D(height: 3, width: 1), Size2D(7)]
    static let sizes = [Size2D(height: 7, width: 9), Size2D(height: 8, width: 6)]
    /// (input channels, output channels, groups): dense, two groups of 2→3, depthwise.
    static let channelings = [(2, 4, 1), (4, 6, 2), (3, 3, 3)]
    static let batches = [1, 3]

    /// Every combination whose dilated kernel fits the padded input.
    static func cases() throws -> [ConvolutionCase] {
        var cases: [ConvolutionCase] = []
        var seed: UInt64 = 1
        for padding in paddings {
            for stride in strides {
                for dilation in dilations {
                    for kernel in kernels {
                        for size in sizes {
                            for (channels, outputs, groups) in channelings {
                                for batch in batches {
                                    let descriptor = Conv2DDescriptor(stride: stride, dilation: dilation,
                                                                      padding: padding, groups: groups)
                                    let shape = TensorShape(batch, channels, size.height, size.width)
                                    seed += 1
                                    guard let built = try? ConvolutionCase(
                                        input: shape, outputChannels: outputs, kernel: kernel,
                                        descriptor: descriptor, bias: seed % 2 == 0, integers: true, seed: seed)
                                    else { continue }  // the kernel does not fit
                                    cases.append(built)
                                }
                            }
                        }
                    }
                }
            }
        }
        return cases
    }

    @Test("integer grid equals the reference exactly", arguments: [CPUAlgorithm.auto, .direct, .gemm])
    func integerGrid(algorithm: CPUAlgorithm) throws {
        let cases = try Self.cases()
        #expect(cases.count > 3000)
        let backends = [CPUBackend(threads: 1, algorithm: algorithm, allowInexact: false),
                        CPUBackend(threads: 2, algorithm: algorithm, allowInexact: false)]
        var failures = 0
        for testCase in cases where failures < 5 {
            let reference = testCase.reference().values
            for backend in backends {
                let output = try testCase.run(backend)
                if !testCase.expectExact(output, reference, "\(algorithm) threads \(backend.threads)") { failures += 1 }
            }
        }
    }
}
