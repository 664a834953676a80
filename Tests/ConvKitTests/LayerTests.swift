import ConvKit
import Testing
import _ConvKitTestSupport

/// Pooling, epilogues, borders and chains on every backend the dispatcher found.
@Suite("Layers on every backend")
struct LayerTests {
    static let backends: [String: any ConvolutionBackend] = Dictionary(
        uniqueKeysWithValues: ConvolutionDispatcher.shared.backends.filter { $0.name != "reference" }.map { ($0.name, $0) })

    static func integers(_ shape: TensorShape, seed: UInt64) -> Tensor {
        var generator = SeededGenerator(seed: seed)
        return try! Tensor(shape: shape) { _ in Float(Int.random(in: -3...3, using: &generator)) }
    }

    @Test("the pooling grid equals the reference exactly", arguments: backends.keys.sorted())
    func poolingGrid(_ name: String) throws {
        let backend = try #require(Self.backends[name])
        let cases = PoolCheckGrid.cases()
        var mismatches = 0
        for (index, (shape, descriptor)) in cases.enumerated() {
            let x = Self.integers(shape, seed: UInt64(index))
            let expected = try ReferenceBackend().pool(x, descriptor: descriptor)
            let actual = try backend.pool(x, descriptor: descriptor)
            if actual != expected {
                mismatches += 1
                if mismatches <= 5 { Issue.record("\(name) pool \(descriptor) on \(shape): \(actual.scalars) ≠ \(expected.scalars)") }
            }
        }
        print("pooling grid \(name): \(cases.count) cases, \(mismatches) mismatches")
    }

    @Test("every activation and border, fused, equals the reference on small integers",
          arguments: backends.keys.sorted())
    func epiloguesAndBorders(_ name: String) throws {
        let backend = try #require(Self.backends[name])
        let activations: [Activation] = [.identity, .relu, .relu6, .clamp(lower: -2, upper: 3), .leakyRelu(alpha: 0.25)]
        var count = 0
        for activation in activations {
            for border in BorderMode.allCases {
                for padding in [Padding.same, .explicit(top: 2, bottom: 0, left: 1, right: 2)] {
                    let x = Self.integers(TensorShape(2, 4, 6, 7), seed: UInt64(count))
                    let w = Self.integers(TensorShape(6, 2, 3, 3), seed: UInt64(count + 100))
                    let bias = (0..<6).map { Float($0) - 2.5 }
                    let descriptor = Conv2DDescriptor(stride: Size2D(height: 1, width: 2), padding: padding, groups: 2,
                                                      border: border, activation: activation)
                    let expected = try ReferenceBackend().convolve(x, weights: w, bias: bias, descriptor: descriptor)
                    let actual = try backend.convolve(x, weights: w, bias: bias, descriptor: descriptor)
                    #expect(actual == expected, "\(name) \(activation) \(border) \(padding)")
                    count += 1
                }
            }
        }
        print("epilogue × border \(name): \(count) cases")
    }

    @Test("a conv → relu → maxpool → conv chain equals the steps run one by one", arguments: backends.keys.sorted())
    func chain(_ name: String) throws {
        let backend = try #require(Self.backends[name])
        let x = Self.integers(TensorShape(2, 3, 12, 11), seed: 1)
        let w1 = Self.integers(TensorShape(8, 3, 3, 3), seed: 2), w2 = Self.integers(TensorShape(5, 8, 3, 3), seed: 3)
        let b1 = (0..<8).map { Float($0 % 3) - 1 }
        let first = Conv2DDescriptor(padding: .same), second = Conv2DDescriptor(padding: .valid)
        let pool = Pool2DDescriptor(mode: .max, window: Size2D(2), ceilMode: true)
        let chained = try backend.run([.conv(first, w1, b1, .relu), .maxPool(pool), .conv(second, w2)], input: x)
        var relu = first
        relu.activation = .relu
        let stepwise = try ReferenceBackend().convolve(
            ReferenceBackend().pool(ReferenceBackend().convolve(x, weights: w1, bias: b1, descriptor: relu), descriptor: pool),
            weights: w2, descriptor: second)
        #expect(chained == stepwise)
    }

    @Test("a chain is validated whole before any work: a bad last step throws its error")
    func chainValidation() throws {
        let x = Self.integers(TensorShape(1, 3, 8, 8), seed: 4)
        let w = Self.integers(TensorShape(4, 3, 3, 3), seed: 5), wrong = Self.integers(TensorShape(2, 5, 3, 3), seed: 6)
        #expect(throws: ConvolutionError.weightsShapeMismatch(expected: TensorShape(2, 4, 3, 3), actual: TensorShape(2, 5, 3, 3))) {
            try CPUBackend().run([.conv(Conv2DDescriptor(), w), .conv(Conv2DDescriptor(), wrong)], input: x)
        }
        #expect(throws: ConvolutionError.self) {
            try CPUBackend().run([.maxPool(Pool2DDescriptor(mode: .max, window: Size2D(9)))], input: x)
        }
    }
}
