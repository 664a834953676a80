import ConvKitCore
import Testing

@Suite("Pooling geometry and reference")
struct PoolingReferenceTests {
    func pool(_ values: [Float], _ shape: TensorShape, _ descriptor: Pool2DDescriptor) throws -> (TensorShape, [Double]) {
        let geometry = try descriptor.resolve(input: shape)
        return (geometry.output, values.withUnsafeBufferPointer { ReferenceBackend.pool(geometry, input: $0) })
    }

    // 4×5 map, values chosen by hand so every window's answer is distinct.
    static let map: [Float] = [
        1, 5, 2, 0, 3,
        4, 2, 8, 1, 1,
        0, 7, 3, 6, 2,
        9, 1, 4, 2, 5,
    ]

    @Test("max 2×2 stride 2, floor: the 5th column is dropped")
    func maxFloor() throws {
        let (shape, values) = try pool(Self.map, TensorShape(1, 1, 4, 5), Pool2DDescriptor(mode: .max, window: Size2D(2)))
        #expect(shape == TensorShape(1, 1, 2, 2))
        #expect(values == [5, 8, 9, 6])
    }

    @Test("max ceil mode keeps the partial last column")
    func maxCeil() throws {
        let (shape, values) = try pool(Self.map, TensorShape(1, 1, 4, 5),
                                       Pool2DDescriptor(mode: .max, window: Size2D(2), ceilMode: true))
        #expect(shape == TensorShape(1, 1, 2, 3))
        #expect(values == [5, 8, 3, 9, 6, 5])
    }

    @Test("ceil mode never starts a window inside the end padding")
    func ceilDropsPaddingWindow() throws {
        // in 5, k 2, s 2, pads 1/1: ceil((7−2)/2)+1 = 4, but window 3 starts at 6 = in + pad_begin → 3.
        let geometry = try Pool2DDescriptor(mode: .max, window: Size2D(2), padding: .symmetric(height: 1, width: 1),
                                            ceilMode: true).resolve(input: TensorShape(1, 1, 5, 5))
        #expect(geometry.output.height == 3)
        #expect(geometry.rows.formula == "ceil((5 + 1 + 1 − 2) / 2) + 1 = ceil(5 / 2) + 1 = 3")
    }

    @Test("average excludes padding by default, includes it on request, never counts the overhang")
    func averageDivisors() throws {
        let shape = TensorShape(1, 1, 4, 5)
        let padded = Pool2DDescriptor(mode: .average, window: Size2D(2), padding: .explicit(top: 1, bottom: 0, left: 1, right: 0),
                                      ceilMode: true)
        let (outShape, exclude) = try pool(Self.map, shape, padded)
        // Rows: windows start at −1, 1, 3 (3 is real, so kept). Columns: −1, 1, 3.
        #expect(outShape == TensorShape(1, 1, 3, 3))
        // Top-left window holds one real cell (1) and three pad cells.
        #expect(exclude[0] == 1)
        // Bottom-right window: rows 3..4 (4 is overhang), columns 3..4: cells 2, 5.
        #expect(exclude[8] == 3.5)
        var include = padded
        include.countIncludePad = true
        let (_, included) = try pool(Self.map, shape, include)
        #expect(included[0] == 0.25, "1 real cell + 3 pad cells, divisor 4")
        #expect(included[8] == 3.5, "the overhang row is not padding: divisor 2")
    }

    @Test("max treats padding as −∞ and propagates NaN")
    func maxPaddingAndNaN() throws {
        let negative: [Float] = [-3, -1, -2, -4]
        let (_, values) = try pool(negative, TensorShape(1, 1, 2, 2),
                                   Pool2DDescriptor(mode: .max, window: Size2D(2), stride: Size2D(1), padding: .same))
        #expect(values == [-1, -1, -2, -4])
        let (_, nan) = try pool([1, .nan, 3, 4], TensorShape(1, 1, 2, 2), Pool2DDescriptor(mode: .max, window: Size2D(2)))
        #expect(nan[0].isNaN)
    }

    @Test("a window of padding only: −∞ for max, 0 for average excluding padding")
    func allPaddingWindow() throws {
        let descriptor = Pool2DDescriptor(mode: .max, window: Size2D(1), stride: Size2D(1),
                                          padding: .explicit(top: 1, bottom: 0, left: 0, right: 0))
        let (_, maxima) = try pool([2, 3], TensorShape(1, 1, 1, 2), descriptor)
        #expect(maxima == [-.infinity, -.infinity, 2, 3])
        var average = descriptor
        average.mode = .average
        let (_, means) = try pool([2, 3], TensorShape(1, 1, 1, 2), average)
        #expect(means == [0, 0, 2, 3])
    }

    @Test("global pooling reduces each map to 1×1")
    func global() throws {
        let (shape, maxima) = try pool(Self.map + Self.map.map { -$0 }, TensorShape(1, 2, 4, 5), .global(.max))
        #expect(shape == TensorShape(1, 2, 1, 1))
        #expect(maxima == [9, 0])
        let (_, means) = try pool(Self.map, TensorShape(1, 1, 4, 5), .global(.average))
        #expect(means == [Double(Self.map.reduce(0, +)) / 20])
    }

    @Test("invalid pooling parameters throw typed errors")
    func errors() {
        #expect(throws: ConvolutionError.invalidStride(Size2D(height: 0, width: 2))) {
            try Pool2DDescriptor(mode: .max, window: Size2D(2), stride: Size2D(height: 0, width: 2)).resolve(input: TensorShape(1, 1, 4, 4))
        }
        #expect {
            try Pool2DDescriptor(mode: .average, window: Size2D(height: 5, width: 2)).resolve(input: TensorShape(1, 1, 4, 4))
        } throws: { error in
            (error as? ConvolutionError)?.description == "invalid pooling window: expected effective window ≤ padded input "
                + "(height: 4, width: 4) on both axes, but got effective window (height: 5, width: 2)"
        }
        #expect(throws: ConvolutionError.invalidValue(parameter: "pooling window", expected: "height ≥ 1 and width ≥ 1",
                                                      actual: "(height: 0, width: 2)")) {
            try Pool2DDescriptor(mode: .max, window: Size2D(height: 0, width: 2)).resolve(input: TensorShape(1, 1, 4, 4))
        }
    }
}
