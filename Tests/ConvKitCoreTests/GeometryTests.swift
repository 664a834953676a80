import ConvKitCore
import Testing

/// Rows computed by hand from the ONNX (`auto_pad`) and TensorFlow padding formulas.
struct GeometryRow: Sendable, CustomStringConvertible {
    var input: Int, kernel: Int, stride: Int, dilation: Int
    var padding: Padding
    var begin: Int, end: Int, output: Int
    var description: String { "in \(input) k \(kernel) s \(stride) d \(dilation) \(padding)" }
}

private let rows: [GeometryRow] = [
    .init(input: 5, kernel: 3, stride: 1, dilation: 1, padding: .valid, begin: 0, end: 0, output: 3),
    .init(input: 5, kernel: 3, stride: 1, dilation: 1, padding: .same, begin: 1, end: 1, output: 5),
    .init(input: 5, kernel: 3, stride: 2, dilation: 1, padding: .same, begin: 1, end: 1, output: 3),
    .init(input: 5, kernel: 3, stride: 2, dilation: 1, padding: .valid, begin: 0, end: 0, output: 2),
    // Odd totals: SAME_UPPER puts the extra cell at the end, SAME_LOWER at the beginning.
    .init(input: 6, kernel: 3, stride: 2, dilation: 1, padding: .same, begin: 0, end: 1, output: 3),
    .init(input: 6, kernel: 3, stride: 2, dilation: 1, padding: .sameLower, begin: 1, end: 0, output: 3),
    .init(input: 4, kernel: 2, stride: 1, dilation: 1, padding: .same, begin: 0, end: 1, output: 4),
    .init(input: 4, kernel: 2, stride: 1, dilation: 1, padding: .sameLower, begin: 1, end: 0, output: 4),
    .init(input: 7, kernel: 4, stride: 3, dilation: 1, padding: .same, begin: 1, end: 2, output: 3),
    .init(input: 7, kernel: 4, stride: 3, dilation: 1, padding: .sameLower, begin: 2, end: 1, output: 3),
    .init(input: 224, kernel: 7, stride: 2, dilation: 1, padding: .same, begin: 2, end: 3, output: 112),
    .init(input: 224, kernel: 7, stride: 2, dilation: 1, padding: .sameLower, begin: 3, end: 2, output: 112),
    .init(input: 5, kernel: 3, stride: 1, dilation: 2, padding: .same, begin: 2, end: 2, output: 5),
    .init(input: 7, kernel: 3, stride: 1, dilation: 2, padding: .valid, begin: 0, end: 0, output: 3),
    .init(input: 10, kernel: 1, stride: 3, dilation: 1, padding: .same, begin: 0, end: 0, output: 4),
    .init(input: 3, kernel: 5, stride: 1, dilation: 1, padding: .same, begin: 2, end: 2, output: 3),
    .init(input: 224, kernel: 7, stride: 2, dilation: 1, padding: .explicit(top: 3, bottom: 3, left: 3, right: 3),
          begin: 3, end: 3, output: 112),
    .init(input: 56, kernel: 3, stride: 2, dilation: 1, padding: .explicit(top: 0, bottom: 1, left: 0, right: 1),
          begin: 0, end: 1, output: 28),
    .init(input: 1, kernel: 1, stride: 5, dilation: 1, padding: .valid, begin: 0, end: 0, output: 1),
]

@Suite("Geometry resolver")
struct GeometryTests {
    @Test("padding amounts and output sizes follow ONNX/TensorFlow", arguments: rows)
    func formula(_ row: GeometryRow) throws {
        // The same row on the height axis and, transposed, on the width axis catches swaps.
        let descriptor = Conv2DDescriptor(stride: Size2D(height: row.stride, width: 1),
                                          dilation: Size2D(height: row.dilation, width: 1), padding: row.padding)
        let geometry = try descriptor.resolve(input: TensorShape(1, 1, row.input, 4), weights: TensorShape(1, 1, row.kernel, 1))
        #expect(geometry.rows.padBegin == row.begin)
        #expect(geometry.rows.padEnd == row.end)
        #expect(geometry.output.height == row.output)
        #expect(geometry.output.width == (row.padding == .valid || row.padding == .same || row.padding == .sameLower ? 4 : 4 + row.begin + row.end))

        let transposed = Conv2DDescriptor(stride: Size2D(height: 1, width: row.stride),
                                          dilation: Size2D(height: 1, width: row.dilation), padding: transpose(row.padding))
        let columns = try transposed.resolve(input: TensorShape(1, 1, 4, row.input), weights: TensorShape(1, 1, 1, row.kernel))
        #expect(columns.columns.padBegin == row.begin)
        #expect(columns.columns.padEnd == row.end)
        #expect(columns.output.width == row.output)
    }

    private func transpose(_ padding: Padding) -> Padding {
        if case let .explicit(top, bottom, left, right) = padding {
            return .explicit(top: left, bottom: right, left: top, right: bottom)
        }
        return padding
    }

    @Test("FLOP count is 2·N·K·OH·OW·(C/g)·R·S")
    func flops() throws {
        let geometry = try Conv2DDescriptor(padding: .same, groups: 2)
            .resolve(input: TensorShape(2, 6, 10, 12), weights: TensorShape(4, 3, 3, 5), biasCount: 4)
        #expect(geometry.flops == 2 * 2 * 4 * 10 * 12 * 3 * 3 * 5)
        #expect(geometry.hasBias)
        #expect(geometry.effectiveKernel == Size2D(height: 3, width: 5))
        #expect(geometry.reductionLength == 45)
    }

    @Test("the formula string shows the arithmetic")
    func formulaText() throws {
        let geometry = try Conv2DDescriptor(stride: Size2D(2), padding: .same)
            .resolve(input: TensorShape(1, 1, 5, 5), weights: TensorShape(1, 1, 3, 3))
        #expect(geometry.rows.formula == "floor((5 + 1 + 1 − 3) / 2) + 1 = floor(4 / 2) + 1 = 3")
    }

    @Test("depthwise is recognised only for one channel per group on both sides")
    func depthwise() throws {
        let depthwise = try Conv2DDescriptor(groups: 4).resolve(input: TensorShape(1, 4, 5, 5), weights: TensorShape(4, 1, 3, 3))
        let multiplier = try Conv2DDescriptor(groups: 4).resolve(input: TensorShape(1, 4, 5, 5), weights: TensorShape(8, 1, 3, 3))
        #expect(depthwise.isDepthwise)
        #expect(!multiplier.isDepthwise)
    }
}
