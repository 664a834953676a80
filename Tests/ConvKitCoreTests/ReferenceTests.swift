import ConvKitCore
import Testing
import _ConvKitTestSupport

@Suite("Reference backend")
struct ReferenceTests {
    // The classic 5×5 / 3×3 example; expected maps computed by hand, cell by cell.
    static let input: [Float] = [
        1, 1, 1, 0, 0,
        0, 1, 1, 1, 0,
        0, 0, 1, 1, 1,
        0, 0, 1, 1, 0,
        0, 1, 1, 0, 0,
    ]
    static let filter: [Float] = [
        1, 0, 1,
        0, 1, 0,
        1, 0, 1,
    ]

    func run(_ padding: Padding, stride: Int = 1) throws -> Tensor {
        let x = try Tensor(shape: TensorShape(1, 1, 5, 5), scalars: Self.input)
        let w = try Tensor(shape: TensorShape(1, 1, 3, 3), scalars: Self.filter)
        return try ReferenceBackend().convolve(x, weights: w, descriptor: Conv2DDescriptor(stride: Size2D(stride), padding: padding))
    }

    @Test("valid: a 5×5 input and a 3×3 filter give a 3×3 feature map")
    func textbookValid() throws {
        let y = try run(.valid)
        #expect(y.shape == TensorShape(1, 1, 3, 3))
        #expect(y.scalars == [4, 3, 4, 2, 4, 3, 2, 3, 4])
    }

    @Test("same: the map keeps the 5×5 size")
    func textbookSame() throws {
        let y = try run(.same)
        #expect(y.shape == TensorShape(1, 1, 5, 5))
        #expect(y.scalars == [
            2, 2, 3, 1, 1,
            1, 4, 3, 4, 1,
            1, 2, 4, 3, 3,
            1, 2, 3, 4, 1,
            0, 2, 2, 1, 1,
        ])
    }

    @Test("same with stride 2 keeps ceil(5/2) = 3")
    func textbookStrided() throws {
        let y = try run(.same, stride: 2)
        #expect(y.shape == TensorShape(1, 1, 3, 3))
        #expect(y.scalars == [2, 3, 1, 1, 4, 3, 0, 2, 1])
    }

    @Test("explicit padding equals valid convolution of a zero-padded copy")
    func paddingIdentity() throws {
        var generator = SeededGenerator(seed: 7)
        let x = try Tensor(shape: TensorShape(2, 3, 6, 7)) { _ in Float(Int.random(in: -3...3, using: &generator)) }
        let w = try Tensor(shape: TensorShape(4, 3, 3, 2)) { _ in Float(Int.random(in: -3...3, using: &generator)) }
        let (top, bottom, left, right) = (2, 0, 1, 3)
        var padded = try Tensor(zeros: TensorShape(2, 3, 6 + top + bottom, 7 + left + right))
        for n in 0..<2 { for c in 0..<3 { for h in 0..<6 { for v in 0..<7 {
            padded[n, c, h + top, v + left] = x[n, c, h, v]
        } } } }
        let descriptor = Conv2DDescriptor(stride: Size2D(height: 2, width: 1), dilation: Size2D(height: 1, width: 2),
                                          padding: .explicit(top: top, bottom: bottom, left: left, right: right))
        let direct = try ReferenceBackend().convolve(x, weights: w, descriptor: descriptor)
        let viaCopy = try ReferenceBackend().convolve(padded, weights: w, descriptor: Conv2DDescriptor(
            stride: descriptor.stride, dilation: descriptor.dilation))
        #expect(direct == viaCopy)
    }

    @Test("groups convolve each channel group with its own filters only")
    func groupsIsolation() throws {
        // Group 1's input is all zeros, so its outputs must be exactly the bias.
        let x = try Tensor(shape: TensorShape(1, 4, 3, 3)) { $0 < 18 ? 1 : 0 }
        let w = try Tensor(shape: TensorShape(2, 2, 1, 1)) { _ in 1 }
        let y = try ReferenceBackend().convolve(x, weights: w, bias: [0.5, -0.5], descriptor: Conv2DDescriptor(groups: 2))
        #expect(y.scalars == [Float](repeating: 2.5, count: 9) + [Float](repeating: -0.5, count: 9))
    }

    @Test("the standard cross-check grid holds at least 2,000 distinct cases")
    func gridSize() {
        let cases = CrossCheckGrid.cases()
        #expect(cases.count >= 2_000)
        #expect(Set(cases).count == cases.count)
    }
}
