import CConvKitKernels
import ConvKitCore

extension CPUBackend {
    /// Max or average pooling, split into blocks of (plane × output rows) for the pool.
    ///
    /// Each block runs the C row kernel: vectorised along output width for stride 1 or 2
    /// (any dilation) on the columns whose window lies inside the input, scalar for the
    /// edges and every other stride. A window covering a whole unpadded map (global
    /// pooling) is a plain reduction per plane. Problems below ``inlineFLOPThreshold``
    /// window taps run on the calling thread.
    ///
    /// Results: max equals ``ReferenceBackend`` exactly (the same tie rule, NaN
    /// propagated, −∞ for an all-padding window). Average sums in float32 and divides once
    /// by the divisor of ``PoolGeometry/taps(_:_:)``; with sums that float32 holds exactly
    /// (small integers) that is the reference's correctly rounded quotient, otherwise the
    /// sum carries float32 rounding (≲ window·ε relative).
    ///
    /// - Throws: ``BackendError/unsupported(backend:reason:)`` when a padded extent passes
    ///   the kernels' 32-bit index range (`2³⁰`).
    public func executePool(_ geometry: PoolGeometry, input: UnsafeBufferPointer<Float>,
                            output: UnsafeMutableBufferPointer<Float>) throws {
        try Self.check("input", input.count, geometry.input.elementCount)
        try Self.check("output", output.count, geometry.output.elementCount)
        let limit = 1 << 30
        let rows = geometry.rows, columns = geometry.columns
        for (what, value) in [("padded input height", rows.input + rows.padBegin + rows.padEnd),
                              ("padded input width", columns.input + columns.padBegin + columns.padEnd),
                              ("output rows × stride", rows.output * rows.stride),
                              ("output columns × stride", columns.output * columns.stride)] where value > limit {
            throw BackendError.unsupported(backend: name,
                                           reason: "\(what) \(value) exceeds the CPU kernels' 32-bit index range (\(limit))")
        }
        guard let x = input.baseAddress, let y = output.baseAddress else { return }
        let buffers = PoolBuffers(input: x, output: y)
        let planes = geometry.output.batch * geometry.output.channels
        let inputPlane = geometry.input.height * geometry.input.width
        let outputPlane = geometry.output.height * geometry.output.width
        let work = geometry.output.elementCount * rows.kernel * columns.kernel
        let loop = ParallelLoop(threads: work < Self.inlineFLOPThreshold ? 1 : threads)
        let mode: Int32 = geometry.mode == .max ? CK_POOL_MAX : CK_POOL_AVERAGE

        if geometry.isWholeMap {
            let chunks = loop.threads <= 1 ? 1 : min(planes, loop.threads * 4)
            loop.run(chunks) { chunk in
                for index in planes * chunk / chunks..<planes * (chunk + 1) / chunks {
                    buffers.output[index] = ck_pool_global(buffers.input + index * inputPlane, inputPlane, mode)
                }
            }
            return
        }

        let plane = ck_pool_plane(geometry)
        // Units are (plane, output row) pairs in storage order; a chunk is a contiguous run.
        let outputRows = geometry.output.height
        let units = planes * outputRows
        let chunks = loop.threads <= 1 ? 1 : min(units, loop.threads * 4)
        loop.run(chunks) { chunk in
            var plane = plane
            var unit = units * chunk / chunks
            let end = units * (chunk + 1) / chunks
            while unit < end {
                let index = unit / outputRows, row = unit % outputRows
                let stop = min(end, (index + 1) * outputRows)
                ck_pool_rows(&plane, buffers.input + index * inputPlane, buffers.output + index * outputPlane,
                             Int32(row), Int32(row + stop - unit))
                unit = stop
            }
        }
    }

    /// Throws ``ConvolutionError/bufferSizeMismatch(parameter:expected:actual:)`` unless the counts agree.
    static func check(_ parameter: String, _ actual: Int, _ expected: Int) throws {
        guard actual == expected else {
            throw ConvolutionError.bufferSizeMismatch(parameter: parameter, expected: expected, actual: actual)
        }
    }
}

/// The two buffers of one pooling call, shareable with worker threads.
///
/// `@unchecked Sendable` is sound because workers only read `input` and write disjoint
/// rows of `output`, all within `executePool`'s lifetime.
struct PoolBuffers: @unchecked Sendable {
    let input: UnsafePointer<Float>
    let output: UnsafeMutablePointer<Float>
}

extension PoolGeometry {
    /// Whether each output is the whole unpadded input map, tapped once per cell.
    var isWholeMap: Bool {
        output.height == 1 && output.width == 1 && rows.kernel == input.height && columns.kernel == input.width
            && rows.padBegin == 0 && rows.padEnd == 0 && columns.padBegin == 0 && columns.padEnd == 0
            && (rows.kernel == 1 || rows.dilation == 1) && (columns.kernel == 1 || columns.dilation == 1)
    }
}

extension ck_pool_plane {
    /// The spatial description the C pooling kernel walks; ``CPUBackend/executePool(_:input:output:)``
    /// has checked every value fits in `Int32`.
    init(_ geometry: PoolGeometry) {
        let rows = geometry.rows, columns = geometry.columns
        self.init(input_height: Int32(rows.input), input_width: Int32(columns.input),
                  kernel_height: Int32(rows.kernel), kernel_width: Int32(columns.kernel),
                  stride_height: Int32(rows.stride), stride_width: Int32(columns.stride),
                  dilation_height: Int32(rows.dilation), dilation_width: Int32(columns.dilation),
                  pad_top: Int32(rows.padBegin), pad_bottom: Int32(rows.padEnd),
                  pad_left: Int32(columns.padBegin), pad_right: Int32(columns.padEnd),
                  output_height: Int32(rows.output), output_width: Int32(columns.output),
                  mode: geometry.mode == .max ? CK_POOL_MAX : CK_POOL_AVERAGE,
                  count_include_pad: geometry.countIncludePad ? 1 : 0)
    }
}
