import ConvKit
import Foundation
import Testing
import _ConvKitTestSupport

/// The cross-check matrix: every backend the dispatcher found, and every CPU algorithm,
/// against the reference.
@Suite("Cross-check matrix")
struct CrossCheckTests {
    static let long = ProcessInfo.processInfo.environment["CONVKIT_LONG_TESTS"] == "1"
    static let cases = CrossCheckGrid.cases(variants: long ? 10 : 1)

    /// The dispatcher's backends (minus the oracle itself), with the CPU made exact-only:
    /// small-integer data must match bit for bit, which Winograd does not promise.
    static let exactBackends: [String: any ConvolutionBackend] = {
        var backends = [String: any ConvolutionBackend]()
        for backend in ConvolutionDispatcher.shared.backends where backend.name != "reference" {
            backends[backend.name] = backend
        }
        backends["cpu"] = CPUBackend(allowInexact: false)
        backends["cpu:direct"] = CPUBackend(algorithm: .direct)
        backends["cpu:gemm"] = CPUBackend(algorithm: .gemm)
        return backends
    }()

    /// For random floats: the dispatcher's own backends as they are (auto may pick
    /// Winograd), and Winograd forced, each held to its documented τ.
    static let boundedBackends: [String: any ConvolutionBackend] = {
        var backends = [String: any ConvolutionBackend]()
        for backend in ConvolutionDispatcher.shared.backends where backend.name != "reference" {
            backends[backend.name] = backend
        }
        backends["cpu:winograd"] = CPUBackend(algorithm: .winograd)
        return backends
    }()

    @Test("an OpenCL device is present (required when CI=true)")
    func openCLPresent() {
        let found = !ConvolutionDispatcher.shared.openCLBackends.isEmpty
        let why = ConvolutionDispatcher.shared.unavailable.map(\.description).joined(separator: "; ")
        if ProcessInfo.processInfo.environment["CI"] == "true" {
            #expect(found, "CI=true and no OpenCL device: \(why)")
        } else if !found {
            print("warning: no OpenCL device, the OpenCL backend is NOT cross-checked: \(why)")
        }
    }

    @Test("small-integer data: every exact backend equals the reference bit for bit", arguments: exactBackends.keys.sorted())
    func exact(_ name: String) throws {
        let backend = try #require(Self.exactBackends[name])
        let summary = CrossCheck.run(Self.cases, on: [(name, backend)], data: .smallIntegers)[0]
        print("cross-check \(name): \(summary.cases) small-integer cases, \(summary.exactCases) exact")
        #expect(summary.cases == Self.cases.count)
        for failure in summary.failures.prefix(10) {
            Issue.record("\(name) \(failure.case): \(failure.reason)")
        }
    }

    @Test("random floats: every backend within its τ bound", arguments: boundedBackends.keys.sorted())
    func bounded(_ name: String) throws {
        let backend = try #require(Self.boundedBackends[name])
        // Every fourth case; forced Winograd takes every case it runs on (the others fall
        // back to the GEMM, which the exact pass covers), so both of its kernels see the
        // grid's paddings, sizes and groups.
        var winograd: [Int: Int] = [:]
        let sample = try Self.cases.enumerated().filter { index, testCase in
            guard name == "cpu:winograd" else { return index % 4 == 0 }
            let geometry = try testCase.descriptor.resolve(input: testCase.input, weights: testCase.weights)
            guard backend.algorithmName(for: geometry) == "winograd" else { return false }
            winograd[geometry.kernel.height, default: 0] += 1
            return true
        }.map(\.element)
        let summary = CrossCheck.run(sample, on: [(name, backend)], data: .randomFloats)[0]
        print("cross-check \(name): \(summary.cases) random-float cases, worst ratio \(summary.worstRatio)")
        if name == "cpu:winograd" {
            print("cross-check cpu:winograd: F(2×2, 3×3) on \(winograd[3] ?? 0) cases, F(2×2, 5×5) on \(winograd[5] ?? 0)")
            #expect((winograd[3] ?? 0) > 40)
            // F(2×2, 5×5) needs AVX-512; where LeNet's second layer cannot take it, no case can.
            let lenet = try Conv2DDescriptor().resolve(input: TensorShape(1, 6, 14, 14), weights: TensorShape(16, 6, 5, 5))
            #expect((winograd[5] ?? 0) > 40 || !CPUBackend.winogradEligible(lenet))
        }
        for failure in summary.failures.prefix(10) {
            Issue.record("\(name) \(failure.case): \(failure.reason)")
        }
    }

    @Test("Winograd on layer-sized problems holds its τ, and auto picks it only when allowed")
    func winogradLayers() throws {
        let problem = TensorShape(1, 32, 28, 28)
        let geometry = try Conv2DDescriptor(padding: .same).resolve(input: problem, weights: TensorShape(32, 32, 3, 3))
        #expect(CPUBackend().plannedAlgorithm(for: geometry) == .winograd)
        #expect(CPUBackend(allowInexact: false).plannedAlgorithm(for: geometry) != .winograd)
        let layer = CrossCheckCase(input: problem, weights: TensorShape(32, 32, 3, 3),
                                   descriptor: Conv2DDescriptor(padding: .same), hasBias: true, seed: 99)
        let summary = CrossCheck.run([layer], on: [("cpu", CPUBackend())], data: .randomFloats)[0]
        #expect(summary.passed, "worst ratio \(summary.worstRatio) vs τ \(CPUBackend.winogradTau(for: geometry))")
        let exact = CrossCheck.run([layer], on: [("cpu", CPUBackend(allowInexact: false))], data: .smallIntegers)[0]
        #expect(exact.passed)
    }

    /// The grid's shapes are too small for the direct path's layer kernels, so they are
    /// held to the same matrix here: a conv1-like layer (the filter-vector direct kernel)
    /// and LeNet's first layer (the one-channel kernel), exact on small integers, within
    /// τ on floats, through auto and forced `direct`, and through every OpenCL device.
    @Test("layer-sized problems of the direct path's layer kernels: exact on integers, within τ on floats")
    func directLayers() throws {
        let layers = [
            CrossCheckCase(input: TensorShape(1, 3, 40, 44), weights: TensorShape(64, 3, 7, 7),
                           descriptor: Conv2DDescriptor(stride: Size2D(2), padding: .same), hasBias: true, seed: 101),
            CrossCheckCase(input: TensorShape(2, 1, 28, 28), weights: TensorShape(6, 1, 5, 5),
                           descriptor: Conv2DDescriptor(padding: .same), hasBias: true, seed: 102),
        ]
        var backends: [(label: String, backend: any ConvolutionBackend)] = [("cpu", CPUBackend()), ("cpu:direct", CPUBackend(algorithm: .direct))]
        for backend in ConvolutionDispatcher.shared.openCLBackends { backends.append((backend.name, backend)) }
        for data in [CrossCheckCase.DataKind.smallIntegers, .randomFloats] {
            for summary in CrossCheck.run(layers, on: backends, data: data) {
                #expect(summary.cases == layers.count)
                for failure in summary.failures { Issue.record("\(summary.backend) \(failure.case): \(failure.reason)") }
            }
        }
    }
}
