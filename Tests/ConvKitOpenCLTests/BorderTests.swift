import ConvKitCore
@testable import ConvKitOpenCL
import Testing
import _ConvKitTestSupport

/// Border modes in both convolution kernels against an oracle built here: the input
/// explicitly padded by the border rule, then a `.valid` convolution by the reference.
@Suite("OpenCL border modes")
struct BorderTests {
    static let paddings: [Padding] = [.same, .sameLower, .symmetric(height: 1, width: 2),
                                      .explicit(top: 2, bottom: 0, left: 0, right: 3)]
    static let strides = [Size2D(1), Size2D(2), Size2D(height: 1, width: 2)]
    static let dilations = [Size2D(1), Size2D(height: 2, width: 1)]
    static let kernels = [Size2D(1), Size2D(3), Size2D(height: 3, width: 2), Size2D(5)]

    @Test("small-integer grid equals the padded-copy oracle exactly",
          .enabled(if: TestDevice.shouldRun, TestDevice.skipReason),
          arguments: BorderMode.allCases, [KernelChoice.direct, .tiled, .igemm])
    func grid(border: BorderMode, kernel: KernelChoice) throws {
        guard requireDevice() else { return }
        let backend = try TestDevice.backend(kernel)
        var generator = SeededGenerator(seed: "\(border) \(kernel)".utf8.reduce(0xB0D) { $0 &* 31 &+ UInt64($1) })
        var cases = 0, tiledCases = 0
        for padding in Self.paddings {
            for stride in Self.strides {
                for dilation in Self.dilations {
                    for size in Self.kernels {
                        for (channels, filters, groups) in [(3, 5, 1), (4, 6, 2), (3, 3, 3)] {
                            let descriptor = Conv2DDescriptor(stride: stride, dilation: dilation, padding: padding,
                                                              groups: groups, border: border,
                                                              activation: cases % 3 == 0 ? .relu : .identity)
                            let shape = TensorShape(1 + cases % 2, channels, 7, 8)
                            // Reflect needs every pad below the extent; such combinations are errors.
                            guard let problem = try? Problem(input: shape, filters: filters, kernel: size,
                                                             descriptor: descriptor, bias: cases % 2 == 0,
                                                             generator: &generator, value: Problem.smallInteger)
                            else { continue }
                            try check(problem, on: backend)
                            cases += 1
                            if backend.configuration(for: problem.geometry).file == .tiled { tiledCases += 1 }
                        }
                    }
                }
            }
        }
        #expect(cases > 100)
        if kernel == .tiled { #expect(tiledCases == cases) }
    }

    @Test("pads at the limits: reflect pad = extent − 1, circular pad = extent, replicate pad > extent",
          .enabled(if: TestDevice.shouldRun, TestDevice.skipReason), arguments: [KernelChoice.direct, .tiled, .igemm])
    func extremePads(kernel: KernelChoice) throws {
        guard requireDevice() else { return }
        let backend = try TestDevice.backend(kernel)
        var generator = SeededGenerator(seed: 31)
        let cases: [(BorderMode, TensorShape, Padding, Size2D)] = [
            (.reflect, TensorShape(1, 2, 3, 4), .explicit(top: 2, bottom: 2, left: 3, right: 3), Size2D(3)),
            (.reflect, TensorShape(2, 1, 1, 5), .explicit(top: 0, bottom: 0, left: 4, right: 1), Size2D(height: 1, width: 3)),
            (.circular, TensorShape(1, 2, 2, 3), .explicit(top: 2, bottom: 2, left: 3, right: 3), Size2D(3)),
            (.circular, TensorShape(1, 1, 4, 4), .explicit(top: 4, bottom: 0, left: 0, right: 4), Size2D(2)),
            (.replicate, TensorShape(1, 2, 2, 2), .explicit(top: 5, bottom: 4, left: 6, right: 3), Size2D(3)),
            (.replicate, TensorShape(1, 1, 1, 1), .symmetric(height: 3, width: 2), Size2D(height: 3, width: 5)),
        ]
        for (border, shape, padding, size) in cases {
            let descriptor = Conv2DDescriptor(padding: padding, border: border)
            let problem = try Problem(input: shape, filters: 3, kernel: size, descriptor: descriptor, bias: true,
                                      generator: &generator, value: Problem.smallInteger)
            try check(problem, on: backend)
        }
    }

    @Test("constraint violations are rejected before any work")
    func constraints() {
        let weights = TensorShape(1, 1, 3, 3)
        #expect(throws: ConvolutionError.self) {
            _ = try Conv2DDescriptor(padding: .symmetric(height: 3, width: 0), border: .reflect)
                .resolve(input: TensorShape(1, 1, 3, 3), weights: weights)
        }
        #expect(throws: ConvolutionError.self) {
            _ = try Conv2DDescriptor(padding: .symmetric(height: 0, width: 4), border: .circular)
                .resolve(input: TensorShape(1, 1, 3, 3), weights: weights)
        }
    }

    /// Runs `problem` on `backend` and compares with the padded-copy oracle exactly.
    private func check(_ problem: Problem, on backend: OpenCLBackend,
                       sourceLocation: SourceLocation = #_sourceLocation) throws {
        let expected = try Self.oracle(problem)
        let output = try problem.run(on: backend)
        expectIdentical(output, expected, "\(problem.geometry.border) \(backend.configuration(for: problem.geometry)) \(problem)",
                        sourceLocation: sourceLocation)
    }

    /// Pads the input into a new tensor by the border rule, then convolves it `.valid`
    /// with the same stride, dilation, groups and activation on the reference.
    static func oracle(_ problem: Problem) throws -> [Float] {
        let geometry = problem.geometry, x = geometry.input, pads = geometry.padding
        let padded = TensorShape(x.batch, x.channels, x.height + pads.top + pads.bottom, x.width + pads.left + pads.right)
        var copy = [Float](repeating: 0, count: padded.elementCount)
        for plane in 0..<(x.batch * x.channels) {
            for h in 0..<padded.height {
                for w in 0..<padded.width {
                    guard let row = Self.source(h - pads.top, x.height, geometry.border),
                          let column = Self.source(w - pads.left, x.width, geometry.border) else { continue }
                    copy[(plane * padded.height + h) * padded.width + w] = problem.input[(plane * x.height + row) * x.width + column]
                }
            }
        }
        let valid = try Conv2DDescriptor(stride: geometry.stride, dilation: geometry.dilation, padding: .valid,
                                         groups: geometry.groups, activation: geometry.activation)
            .resolve(input: padded, weights: geometry.filter, biasCount: problem.bias?.count)
        #expect(valid.output == geometry.output)
        return Problem(geometry: valid, input: copy, weights: problem.weights, bias: problem.bias).reference().values
            .map { Float($0) }
    }

    /// The border rule written out independently of `BorderMode.sourceIndex`: mirror,
    /// clamp or wrap until the index lands inside `0..<extent`; `nil` for a zero cell.
    static func source(_ index: Int, _ extent: Int, _ border: BorderMode) -> Int? {
        if (0..<extent).contains(index) { return index }
        switch border {
        case .zeros: return nil
        case .replicate: return min(max(index, 0), extent - 1)
        case .circular: return ((index % extent) + extent) % extent
        case .reflect:
            guard extent > 1 else { return 0 }
            let period = 2 * (extent - 1)
            let folded = ((index % period) + period) % period
            return folded < extent ? folded : period - folded
        }
    }
}
