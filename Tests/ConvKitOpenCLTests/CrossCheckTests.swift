import ConvKitCore
@testable import ConvKitOpenCL
import Testing
import _ConvKitTestSupport

/// The grid of `design.md`: every padding mode × stride × dilation × kernel size × odd
/// and even sizes × groups × batch, with small-integer data, on the direct and the tiled
/// kernel, the igemm heuristic, every igemm configuration and every 1×1-GEMM and depthwise
/// configuration (each on the cases it can run); every element must equal the float64 reference exactly.
@Suite("OpenCL cross-check against the reference")
struct CrossCheckTests {
    static let paddings: [Padding] = [.valid, .same, .sameLower, .symmetric(height: 1, width: 2),
                                      .explicit(top: 0, bottom: 2, left: 1, right: 0)]
    static let strides = [Size2D(1), Size2D(2), Size2D(3), Size2D(height: 1, width: 2)]
    static let dilations = [Size2D(1), Size2D(2), Size2D(height: 2, width: 1)]
    static let kernels = [Size2D(1), Size2D(2), Size2D(3), Size2D(5), Size2D(height: 1, width: 3),
                          Size2D(height: 3, width: 1), Size2D(7)]
    static let sizes = [Size2D(height: 7, width: 9), Size2D(height: 8, width: 6)]
    /// (channels, filters, groups): plain, two groups with a K_BLOCK tail, depthwise.
    static let channelLayouts = [(3, 5, 1), (4, 10, 2), (3, 3, 3)]

    @Test("small-integer grid matches exactly", .enabled(if: TestDevice.shouldRun, TestDevice.skipReason),
          arguments: paddings, strides)
    func grid(padding: Padding, stride: Size2D) throws {
        guard requireDevice() else { return }
        // The direct kernel takes the copying path (discrete GPUs), the others wrap the
        // host arrays where the device shares host memory (PoCL).
        var direct = try TestDevice.backend(.direct)
        direct.copiesHostArrays = true
        let tiled = try TestDevice.backend(.tiled)
        let igemm = try TestDevice.backend(.igemm)
        // Every igemm configuration of both device kinds (CPU: global reads; GPU: local
        // tiles), each forced on a rotating share of the grid.
        let forced = TestDevice.igemmConfigurations.map { configuration in
            var backend = igemm
            backend.forcedConfiguration = configuration
            return backend
        }
        let special = TestDevice.specialConfigurations.map { configuration in
            var backend = igemm
            backend.forcedConfiguration = configuration
            return (configuration, backend)
        }
        var specialCases = 0
        var generator = SeededGenerator(seed: "\(padding) \(stride)".utf8.reduce(0xC0FFEE) { $0 &* 31 &+ UInt64($1) })
        var cases = 0, tiledCases = 0
        for dilation in Self.dilations {
            for kernel in Self.kernels {
                for size in Self.sizes {
                    for (channels, filters, groups) in Self.channelLayouts {
                        for batch in [1, 3] {
                            let descriptor = Conv2DDescriptor(stride: stride, dilation: dilation, padding: padding,
                                                              groups: groups)
                            let shape = TensorShape(batch, channels, size.height, size.width)
                            // Combinations where the dilated kernel does not fit are errors by design.
                            guard let problem = try? Problem(input: shape, filters: filters, kernel: kernel,
                                                             descriptor: descriptor, bias: batch == 3,
                                                             generator: &generator, value: Problem.smallInteger)
                            else { continue }
                            let expected = problem.reference().values
                            expectExact(try problem.run(on: direct), expected, "direct \(problem)")
                            expectExact(try problem.run(on: tiled), expected,
                                        "\(tiled.configuration(for: problem.geometry)) \(problem)")
                            expectExact(try problem.run(on: igemm), expected,
                                        "\(igemm.configuration(for: problem.geometry)) \(problem)")
                            let rotating = forced[cases % forced.count]
                            expectExact(try problem.run(on: rotating), expected,
                                        "\(rotating.configuration(for: problem.geometry)) \(problem)")
                            #expect(rotating.configuration(for: problem.geometry).file == .igemm)
                            cases += 1
                            // The 1×1 GEMM and depthwise kernels, rotating over those that apply.
                            let applicable = special.filter { $0.0.canRun(problem.geometry, on: igemm.deviceInfo) }
                            if !applicable.isEmpty {
                                let (configuration, backend) = applicable[specialCases % applicable.count]
                                #expect(backend.configuration(for: problem.geometry) == configuration)
                                expectExact(try problem.run(on: backend), expected, "\(configuration) \(problem)")
                                specialCases += 1
                            }
                            if tiled.configuration(for: problem.geometry).file == .tiled { tiledCases += 1 }
                        }
                    }
                }
            }
        }
        #expect(cases > 0)
        #expect(tiledCases == cases, "PoCL's local memory fits every tile of this grid")
    }

    @Test("random floats stay within the direct τ", .enabled(if: TestDevice.shouldRun, TestDevice.skipReason),
          arguments: [KernelChoice.direct, .tiled, .igemm, .auto], [-1] + TestDevice.forcedConfigurations.indices)
    func randomFloats(kernel: KernelChoice, forced: Int) throws {
        guard requireDevice() else { return }
        var backend = try TestDevice.backend(kernel)
        if forced >= 0 {
            guard kernel == .igemm else { return }
            backend.forcedConfiguration = TestDevice.forcedConfigurations[forced]
        }
        var generator = SeededGenerator(seed: 42)
        let problems = [
            (TensorShape(2, 16, 23, 19), 24, Size2D(3), Conv2DDescriptor(stride: Size2D(1), padding: .same)),
            (TensorShape(1, 8, 17, 30), 12, Size2D(height: 5, width: 3),
             Conv2DDescriptor(stride: Size2D(height: 2, width: 1), dilation: Size2D(height: 1, width: 2),
                              padding: .explicit(top: 2, bottom: 0, left: 1, right: 3), groups: 4)),
            (TensorShape(1, 32, 20, 20), 32, Size2D(3), Conv2DDescriptor(padding: .sameLower, groups: 32)),
            (TensorShape(3, 7, 9, 11), 6, Size2D(1), Conv2DDescriptor(stride: Size2D(2))),
        ]
        for (shape, filters, size, descriptor) in problems {
            let problem = try Problem(input: shape, filters: filters, kernel: size, descriptor: descriptor, bias: true,
                                      generator: &generator, value: Problem.uniform)
            let output = try problem.run(on: backend)
            let reference = problem.reference()
            let agreement = output.withUnsafeBufferPointer {
                Agreement(output: $0, values: reference.values, magnitudes: reference.magnitudes)
            }
            let tau = Agreement.directTau(for: problem.geometry)
            #expect(agreement.count == output.count)
            #expect(agreement.holds(tau: tau),
                    "worst ratio \(agreement.worstRatio) at \(agreement.worstIndex) > τ \(tau) — \(problem)")
        }
    }
}
