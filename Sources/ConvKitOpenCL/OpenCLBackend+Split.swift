import ConvKitCore

/// How a host-buffer convolution too large for one device allocation is cut into calls
/// that each fit.
struct ConvolutionSplit: Hashable, Sendable {
    enum Axis: Hashable, Sendable {
        /// Up to `imagesPerCall` whole images per call.
        case batch(imagesPerCall: Int)
        /// One image per call, up to `channelsPerCall` output channels (groups == 1).
        case outputChannels(channelsPerCall: Int)
    }

    let axis: Axis
    /// The geometry of the largest call.
    let largest: ConvolutionGeometry
    /// How many calls the convolution takes.
    let calls: Int
}

extension OpenCLBackend {
    /// `whole` unless it is unsupported only because a buffer exceeds the largest
    /// allocation and ``splitPlan(for:)`` finds calls that each fit.
    func splitSupport(for geometry: ConvolutionGeometry, whole: BackendSupport) -> BackendSupport {
        guard whole != .supported, let split = splitPlan(for: geometry),
              residentSupport(for: split.largest) == .supported else { return whole }
        return .supported
    }

    /// `nil` when every buffer fits in one allocation (or no split helps); otherwise
    /// batch chunks when one image's input and output fit, else, for `groups == 1`,
    /// output-channel chunks of one image whose input fits.
    func splitPlan(for geometry: ConvolutionGeometry) -> ConvolutionSplit? {
        let limit = Int(clamping: deviceInfo.maxAllocationBytes) / MemoryLayout<Float>.size
        let input = geometry.input, output = geometry.output, filter = geometry.filter
        // The weights' largest buffer: the filters, or the chosen kernel's repack of them.
        let weights = max(filter.elementCount, packedFilterShape(geometry)?.elementCount ?? 0)
        guard input.elementCount > limit || output.elementCount > limit || weights > limit else { return nil }
        let inputImage = input.channels * input.height * input.width
        let outputImage = output.channels * output.height * output.width
        if inputImage <= limit, outputImage <= limit, weights <= limit {
            let images = min(limit / inputImage, limit / outputImage, input.batch)
            guard let largest = try? chunk(geometry, batch: images, filters: filter.batch) else { return nil }
            return ConvolutionSplit(axis: .batch(imagesPerCall: images), largest: largest,
                                    calls: (input.batch + images - 1) / images)
        }
        guard geometry.groups == 1, inputImage <= limit else { return nil }
        let byWeights = limit / (filter.elementCount / filter.batch)
        var channels = min(limit / (output.height * output.width), byWeights, filter.batch)
        // A chunk's filter repack pads its filters to the chosen kernel's block: fewer
        // filters a call until that fits too (at most a block's worth of steps).
        while channels > 1, let part = try? chunk(geometry, batch: 1, filters: channels),
              residentSupport(for: part) != .supported {
            channels -= 1
        }
        guard channels >= 1, let largest = try? chunk(geometry, batch: 1, filters: channels) else { return nil }
        return ConvolutionSplit(axis: .outputChannels(channelsPerCall: channels), largest: largest,
                                calls: input.batch * ((filter.batch + channels - 1) / channels))
    }

    /// Runs `split`'s calls through ``execute(_:input:weights:bias:output:)``, each on
    /// contiguous slices of the caller's buffers; every call counts its own transfers.
    func executeSplit(_ split: ConvolutionSplit, _ geometry: ConvolutionGeometry, input: UnsafeBufferPointer<Float>,
                      weights: UnsafeBufferPointer<Float>, bias: UnsafeBufferPointer<Float>?,
                      output: UnsafeMutableBufferPointer<Float>) throws {
        let inputImage = geometry.input.elementCount / geometry.input.batch
        let outputImage = geometry.output.elementCount / geometry.output.batch
        let filters = geometry.filter.batch
        logger.debug("\(name): convolution split into \(split.calls) calls (\(split.axis)) to fit \(deviceInfo.maxAllocationBytes)-byte allocations")
        switch split.axis {
        case let .batch(imagesPerCall):
            for first in stride(from: 0, to: geometry.input.batch, by: imagesPerCall) {
                let count = min(imagesPerCall, geometry.input.batch - first)
                let part = try chunk(geometry, batch: count, filters: filters)
                try execute(part, input: slice(input, first * inputImage, count * inputImage), weights: weights, bias: bias,
                            output: slice(output, first * outputImage, count * outputImage))
            }
        case let .outputChannels(channelsPerCall):
            let plane = geometry.output.height * geometry.output.width
            let filterSize = geometry.filter.elementCount / filters
            for image in 0..<geometry.input.batch {
                let x = slice(input, image * inputImage, inputImage)
                for first in stride(from: 0, to: filters, by: channelsPerCall) {
                    let count = min(channelsPerCall, filters - first)
                    let part = try chunk(geometry, batch: 1, filters: count)
                    try execute(part, input: x, weights: slice(weights, first * filterSize, count * filterSize),
                                bias: bias.map { slice($0, first, count) },
                                output: slice(output, image * outputImage + first * plane, count * plane))
                }
            }
        }
    }

    /// `geometry` with `batch` images and `filters` output channels (everything else the
    /// same, paddings as resolved amounts).
    private func chunk(_ geometry: ConvolutionGeometry, batch: Int, filters: Int) throws -> ConvolutionGeometry {
        let pad = geometry.padding
        let descriptor = Conv2DDescriptor(stride: geometry.stride, dilation: geometry.dilation,
                                          padding: .explicit(top: pad.top, bottom: pad.bottom, left: pad.left, right: pad.right),
                                          groups: geometry.groups, border: geometry.border, activation: geometry.activation)
        var input = geometry.input, filter = geometry.filter
        input.batch = batch
        filter.batch = filters
        let part = try descriptor.resolve(input: input, weights: filter, biasCount: geometry.hasBias ? filters : nil)
        guard part.output.height == geometry.output.height, part.output.width == geometry.output.width else {
            throw BackendError.unsupported(backend: name, reason: "a split call resolved to \(part.output), not a slice of \(geometry.output)")
        }
        return part
    }

    private func slice(_ buffer: UnsafeBufferPointer<Float>, _ start: Int, _ count: Int) -> UnsafeBufferPointer<Float> {
        UnsafeBufferPointer(rebasing: buffer[start..<start + count])
    }

    private func slice(_ buffer: UnsafeMutableBufferPointer<Float>, _ start: Int, _ count: Int) -> UnsafeMutableBufferPointer<Float> {
        UnsafeMutableBufferPointer(rebasing: buffer[start..<start + count])
    }
}
