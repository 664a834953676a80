import ConvKitCore
@testable import ConvKitOpenCL
import Foundation
import Testing
import _ConvKitTestSupport

/// The OpenCL device every test in this target uses, discovered once per process.
enum TestDevice {
    /// A scratch directory for this process: PoCL's own cache and ConvKit's disk cache.
    ///
    /// PoCL crashed (about 1 run in 35) when several test processes compiled into one cold
    /// PoCL cache at once, so each process gets its own.
    static let scratch: URL = {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("convkit-opencl-tests-\(ProcessInfo.processInfo.processIdentifier)-\(UInt32.random(in: 0...UInt32.max))")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }()

    /// Discovery, after pointing PoCL at ``scratch`` (before the first OpenCL call).
    static let discovery: OpenCLDiscovery = {
        setenv("POCL_CACHE_DIR", scratch.appendingPathComponent("pocl").path, 1)
        return OpenCLRuntime.discover()
    }()

    /// Whether a device exists.
    static var available: Bool { !discovery.devices.isEmpty }

    /// `CI=true`: a missing device is a failure there, not a skip.
    static var isCI: Bool { ProcessInfo.processInfo.environment["CI"] == "true" }

    /// Device tests run when a device exists, and also on CI so that its absence fails.
    static var shouldRun: Bool { available || isCI }

    /// Why device tests were not run, shown next to the skipped test.
    static var skipReason: Comment {
        "no OpenCL device: \(discovery.failure.map { "\($0)" } ?? "none found")\(isCI ? "" : " (set CI=true to make this fail)")"
    }

    /// The disk cache all ordinary tests share: per process, so runs never depend on a
    /// previous one and never write into the user's cache.
    static var cache: ProgramCacheLocation { .directory(scratch.appendingPathComponent("programs")) }

    /// Every igemm configuration the backend can choose on a CPU or a GPU, all of which
    /// PoCL runs (the local-memory ones slowly), so the grids check both kinds here.
    static var igemmConfigurations: [KernelConfiguration] {
        var cpu = KernelConfigurationTests.device()
        cpu.kind = .cpu
        return KernelConfiguration.igemmCandidates(for: cpu)
            + KernelConfiguration.igemmCandidates(for: KernelConfigurationTests.device())
    }

    /// Every configuration of the specialised kernels (1×1 GEMM, depthwise) the backend can
    /// choose on a CPU or a GPU.
    static var specialConfigurations: [KernelConfiguration] {
        var cpu = KernelConfigurationTests.device()
        cpu.kind = .cpu
        return KernelConfiguration.gemm1x1Candidates(for: cpu) + KernelConfiguration.depthwiseCandidates(for: cpu)
            + KernelConfiguration.depthwiseCandidates(for: KernelConfigurationTests.device())
    }

    /// ``igemmConfigurations`` and ``specialConfigurations``: everything the grids force.
    static var forcedConfigurations: [KernelConfiguration] { igemmConfigurations + specialConfigurations }

    /// A backend on device 0 with the process's cache.
    static func backend(_ kernel: KernelChoice = .auto) throws -> OpenCLBackend {
        try OpenCLBackend(deviceIndex: 0, kernel: kernel, cache: cache)
    }
}

/// One convolution problem with its data.
struct Problem: CustomStringConvertible {
    let geometry: ConvolutionGeometry
    let input: [Float]
    let weights: [Float]
    let bias: [Float]?

    /// Resolves `descriptor` and fills the tensors from `generator` via `value`.
    init(input shape: TensorShape, filters: Int, kernel: Size2D, descriptor: Conv2DDescriptor, bias hasBias: Bool,
         generator: inout SeededGenerator, value: (inout SeededGenerator) -> Float) throws {
        let weightShape = TensorShape(filters, shape.channels / descriptor.groups, kernel.height, kernel.width)
        geometry = try descriptor.resolve(input: shape, weights: weightShape, biasCount: hasBias ? filters : nil)
        input = (0..<shape.elementCount).map { _ in value(&generator) }
        weights = (0..<weightShape.elementCount).map { _ in value(&generator) }
        bias = hasBias ? (0..<filters).map { _ in value(&generator) } : nil
    }

    /// A problem with given data (sizes must match the geometry).
    init(geometry: ConvolutionGeometry, input: [Float], weights: [Float], bias: [Float]?) {
        self.geometry = geometry
        self.input = input
        self.weights = weights
        self.bias = bias
    }

    /// Small integers: every float32 sum of their products is exact in any order.
    static func smallInteger(_ generator: inout SeededGenerator) -> Float {
        Float(Int.random(in: -3...3, using: &generator))
    }

    /// Uniform floats in [-1, 1).
    static func uniform(_ generator: inout SeededGenerator) -> Float {
        Float.random(in: -1..<1, using: &generator)
    }

    func run(on backend: some ConvolutionBackend) throws -> [Float] {
        var output = [Float](repeating: .nan, count: geometry.output.elementCount)
        try input.withUnsafeBufferPointer { input in
            try weights.withUnsafeBufferPointer { weights in
                try output.withUnsafeMutableBufferPointer { output in
                    if let bias {
                        try bias.withUnsafeBufferPointer {
                            try backend.convolve(geometry, input: input, weights: weights, bias: $0, output: output)
                        }
                    } else {
                        try backend.convolve(geometry, input: input, weights: weights, bias: nil, output: output)
                    }
                }
            }
        }
        return output
    }

    func reference() -> (values: [Double], magnitudes: [Double]) {
        input.withUnsafeBufferPointer { input in
            weights.withUnsafeBufferPointer { weights in
                if let bias {
                    bias.withUnsafeBufferPointer {
                        ReferenceBackend.evaluate(geometry, input: input, weights: weights, bias: $0)
                    }
                } else {
                    ReferenceBackend.evaluate(geometry, input: input, weights: weights, bias: nil)
                }
            }
        }
    }

    var description: String {
        "input \(geometry.input) filter \(geometry.filter) stride \(geometry.stride) dilation \(geometry.dilation) "
            + "padding \(geometry.padding) groups \(geometry.groups) bias \(geometry.hasBias)"
    }
}

/// Records one issue for the first element that differs from the reference, with its
/// position and the count of differing elements (element-wise, never an aggregate).
func expectExact(_ output: [Float], _ reference: [Double], _ context: @autoclosure () -> String,
                 sourceLocation: SourceLocation = #_sourceLocation) {
    var mismatches = 0
    var first: Int?
    for index in output.indices where Double(output[index]) != reference[index] {
        mismatches += 1
        if first == nil { first = index }
    }
    if let first {
        let message = "\(mismatches) of \(output.count) elements differ; first at \(first): got \(output[first]), "
            + "expected \(reference[first]) — \(context())"
        Issue.record(Comment(rawValue: message), sourceLocation: sourceLocation)
    }
}

/// The device-or-fail gate at the top of every device test: returns `false` (after
/// recording a failure on CI) when there is no device.
func requireDevice(sourceLocation: SourceLocation = #_sourceLocation) -> Bool {
    if TestDevice.available { return true }
    Issue.record("\(TestDevice.skipReason)", sourceLocation: sourceLocation)
    return false
}
