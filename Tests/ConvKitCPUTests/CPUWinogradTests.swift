import ConvKitCore
import ConvKitCPU
import Testing

/// Winograd F(2×2, 3×3): inexact, so checked against its own τ on random floats; and the
/// exact-only configuration (`allowInexact: false`) that keeps `.auto` bit-exact.
@Suite struct CPUWinogradTests {
    /// The 3×3, stride-1, undilated part of the cross-check grid, with random floats.
    static func gridCases() throws -> [ConvolutionCase] {
        var cases: [ConvolutionCase] = []
        var seed: UInt64 = 5000
        for padding in CPUBackendGridTests.paddings {
            for size in CPUBackendGridTests.sizes {
                for (channels, outputs, groups) in CPUBackendGridTests.channelings {
                    for batch in CPUBackendGridTests.batches {
                        seed += 1
                        let descriptor = Conv2DDescriptor(padding: padding, groups: groups)
                        guard let built = try? ConvolutionCase(
                            input: TensorShape(batch, channels, size.height, size.width), outputChannels: outputs,
                            kernel: Size2D(3), descriptor: descriptor, bias: seed % 2 == 0, integers: false, seed: seed)
                        else { continue }
                        cases.append(built)
                    }
                }
            }
        }
        // Larger: several tile blocks, channel counts off the register tile, odd sizes, groups.
        for (index, (shape, outputs, descriptor)) in [
            (TensorShape(1, 70, 30, 31), 67, Conv2DDescriptor(padding: .symmetric(height: 1, width: 1))),
            (TensorShape(2, 32, 21, 19), 40, Conv2DDescriptor(padding: .same)),
            (TensorShape(1, 64, 28, 28), 64, Conv2DDescriptor(padding: .same)),
            // One block of 16 or 49 tiles (7×7, 14×14): filter ranges split the work, and
            // the last panel's unused lanes are cleared.
            (TensorShape(1, 40, 7, 7), 37, Conv2DDescriptor(padding: .same)),
            (TensorShape(1, 48, 14, 14), 40, Conv2DDescriptor(padding: .same, groups: 2)),
            (TensorShape(1, 24, 17, 13), 30, Conv2DDescriptor(padding: .explicit(top: 0, bottom: 2, left: 1, right: 0),
                                                              groups: 3)),
        ].enumerated() {
            cases.append(try ConvolutionCase(input: shape, outputChannels: outputs, kernel: Size2D(3),
                                             descriptor: descriptor, bias: true, integers: false,
                                             seed: UInt64(6000 + index)))
        }
        return cases
    }

    @Test("forced Winograd stays within winogradTau on the 3×3 stride-1 grid, random floats")
    func withinTau() throws {
        let cases = try Self.gridCases()
        #expect(cases.count > 40)
        var worst = 0.0
        for testCase in cases {
            let reference = testCase.reference()
            let tau = CPUBackend.winogradTau(for: testCase.geometry)
            for threads in [1, 2] {
                let backend = CPUBackend(threads: threads, algorithm: .winograd)
                #expect(backend.plannedAlgorithm(for: testCase.geometry) == .winograd)
                let output = try testCase.run(backend)
                let agreement = testCase.agreement(output, reference)
                worst = max(worst, agreement.worstRatio / tau)
                #expect(agreement.holds(tau: tau),
                        "winograd threads \(threads) \(testCase): worst ratio \(agreement.worstRatio) > τ \(tau)")
            }
        }
        print("winograd grid: \(cases.count) random-float cases, worst ratio / τ = \(worst)")
        #expect(worst > 0)  // it really ran an inexact algorithm
    }

    @Test("fused activations under Winograd stay within τ")
    func fusedActivation() throws {
        for activation in [Activation.relu, .relu6, .leakyRelu(alpha: 0.1)] {
            let descriptor = Conv2DDescriptor(padding: .same, activation: activation)
            let testCase = try ConvolutionCase(input: TensorShape(1, 16, 12, 11), outputChannels: 20, kernel: Size2D(3),
                                               descriptor: descriptor, bias: true, integers: false, seed: 77)
            let reference = testCase.reference()
            let output = try testCase.run(CPUBackend(threads: 2, algorithm: .winograd))
            let agreement = testCase.agreement(output, reference)
            #expect(agreement.holds(tau: CPUBackend.winogradTau(for: testCase.geometry)), "\(activation)")
        }
    }

    @Test("auto with allowInexact: false is exact on small integers where auto would pick Winograd")
    func exactAuto() throws {
        for (index, (shape, outputs)) in [(TensorShape(1, 64, 28, 28), 64), (TensorShape(1, 70, 30, 31), 67)].enumerated() {
            let testCase = try ConvolutionCase(input: shape, outputChannels: outputs, kernel: Size2D(3),
                                               descriptor: Conv2DDescriptor(padding: .same), bias: true,
                                               integers: true, seed: UInt64(7000 + index))
            #expect(CPUBackend().plannedAlgorithm(for: testCase.geometry) == .winograd)
            let reference = testCase.reference().values
            for threads in [1, 2] {
                let backend = CPUBackend(threads: threads, allowInexact: false)
                #expect(backend.plannedAlgorithm(for: testCase.geometry) == .gemm)
                testCase.expectExact(try testCase.run(backend), reference, "auto exact threads \(threads)")
            }
        }
    }

    @Test("Winograd eligibility and the forced fallback")
    func eligibility() throws {
        let strided = try Conv2DDescriptor(stride: Size2D(2), padding: .same)
            .resolve(input: TensorShape(1, 64, 56, 56), weights: TensorShape(64, 64, 3, 3))
        let oneByOne = try Conv2DDescriptor().resolve(input: TensorShape(1, 64, 56, 56), weights: TensorShape(64, 64, 1, 1))
        let reflect = try Conv2DDescriptor(padding: .same, border: .reflect)
            .resolve(input: TensorShape(1, 64, 56, 56), weights: TensorShape(64, 64, 3, 3))
        for geometry in [strided, oneByOne, reflect] {
            #expect(!CPUBackend.winogradEligible(geometry))
            #expect(CPUBackend(algorithm: .winograd).plannedAlgorithm(for: geometry) == .gemm)
            #expect(CPUBackend().plannedAlgorithm(for: geometry) != .winograd)
        }
        let dense = try Conv2DDescriptor(padding: .same).resolve(input: TensorShape(1, 64, 56, 56),
                                                                 weights: TensorShape(64, 64, 3, 3))
        #expect(CPUBackend.winogradEligible(dense))
        #expect(CPUBackend.winogradTau(for: dense) > Agreement.directTau(for: dense) / 100)
    }
}
