extension ReferenceBackend {
    /// Pools `input` with the textbook loops of `semantics.md`, in float64.
    ///
    /// - Parameters:
    ///   - geometry: From ``Pool2DDescriptor/resolve(input:)``.
    ///   - input: `geometry.input.elementCount` elements.
    /// - Returns: `geometry.output.elementCount` values.
    public static func pool(_ geometry: PoolGeometry, input: UnsafeBufferPointer<Float>) -> [Double] {
        let x = geometry.input, y = geometry.output
        let rows = geometry.rows, columns = geometry.columns
        var values: [Double] = []
        values.reserveCapacity(y.elementCount)
        for plane in 0..<(y.batch * y.channels) {
            let base = plane * x.height * x.width
            for i in 0..<y.height {
                let rowTaps = PoolGeometry.taps(rows, i)
                for j in 0..<y.width {
                    let columnTaps = PoolGeometry.taps(columns, j)
                    var maximum = -Double.infinity, sum = 0.0, sawNaN = false
                    for r in 0..<rows.kernel {
                        let h = i * rows.stride - rows.padBegin + r * rows.dilation
                        guard h >= 0, h < x.height else { continue }
                        for s in 0..<columns.kernel {
                            let w = j * columns.stride - columns.padBegin + s * columns.dilation
                            guard w >= 0, w < x.width else { continue }
                            let value = Double(input[base + h * x.width + w])
                            sawNaN = sawNaN || value.isNaN
                            maximum = max(maximum, value)
                            sum += value
                        }
                    }
                    switch geometry.mode {
                    case .max:
                        values.append(sawNaN ? .nan : maximum)
                    case .average:
                        let divisor = geometry.countIncludePad
                            ? rowTaps.padded * columnTaps.padded : rowTaps.real * columnTaps.real
                        values.append(divisor == 0 ? 0 : sum / Double(divisor))
                    }
                }
            }
        }
        return values
    }
}
