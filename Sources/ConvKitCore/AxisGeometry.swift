/// How one spatial axis of a sliding-window operation resolves: pads and output extent.
///
/// Shared by convolution and pooling so the output-size formula exists once. The CLI's
/// `shape` command prints ``formula`` to show how the size came about.
public struct AxisGeometry: Hashable, Sendable {
    /// The input extent on this axis.
    public let input: Int
    /// The kernel (window) extent before dilation.
    public let kernel: Int
    /// The stride on this axis.
    public let stride: Int
    /// The dilation on this axis.
    public let dilation: Int
    /// Padding added before the first input cell.
    public let padBegin: Int
    /// Padding added after the last input cell.
    public let padEnd: Int
    /// The output extent, ≥ 1.
    public let output: Int
    /// Whether pooling's ceil rule produced ``output``.
    public var ceilMode: Bool = false

    /// The dilated kernel extent `d·(k−1)+1`.
    public var effectiveKernel: Int { dilation * (kernel - 1) + 1 }

    /// The arithmetic that produced ``output``, e.g. `floor((5 + 1 + 1 − 3) / 2) + 1 = 3`.
    public var formula: String {
        let numerator = input + padBegin + padEnd - effectiveKernel
        let rounding = ceilMode ? "ceil" : "floor"
        return "\(rounding)((\(input) + \(padBegin) + \(padEnd) − \(effectiveKernel)) / \(stride)) + 1 = "
            + "\(rounding)(\(numerator) / \(stride)) + 1 = \(output)"
    }

    /// Resolves one axis.
    ///
    /// - Parameters:
    ///   - input: Input extent, ≥ 1 (checked by the caller).
    ///   - kernel: Kernel extent, ≥ 1 (checked by the caller).
    ///   - stride: Stride, ≥ 1 (checked by the caller).
    ///   - dilation: Dilation, ≥ 1 (checked by the caller).
    ///   - mode: `.valid`, `.same` or `.sameLower`; explicit amounts come through `explicit`.
    ///   - explicit: The begin/end amounts of an explicit padding.
    ///   - ceilMode: Pooling's ceil rule: round the window count up, then drop a last
    ///     window that would start inside the end padding.
    /// - Returns: The axis, or `nil` when the dilated kernel does not fit the padded input.
    /// - Throws: ``ConvolutionError/sizeOverflow(parameter:)`` when an intermediate overflows.
    static func resolve(input: Int, kernel: Int, stride: Int, dilation: Int,
                        padding: Padding, explicit: (begin: Int, end: Int), ceilMode: Bool = false) throws -> AxisGeometry? {
        let effective = try checked("effective kernel") { try add(try multiply(dilation, kernel - 1), 1) }
        var begin = explicit.begin
        var end = explicit.end
        switch padding {
        case .valid:
            begin = 0
            end = 0
        case .same, .sameLower:
            let out = (input + stride - 1) / stride
            let needed = try checked("padding") { try add(try multiply(out - 1, stride), effective) } - input
            let total = max(needed, 0)
            let small = total / 2
            (begin, end) = padding == .same ? (small, total - small) : (total - small, small)
        case .explicit:
            break
        }
        let padded = try checked("padded input") { try add(try add(input, begin), end) }
        guard padded >= effective else { return nil }
        var output = (padded - effective) / stride + 1
        if ceilMode {
            output = (padded - effective + stride - 1) / stride + 1
            if (output - 1) * stride >= input + begin { output -= 1 }
        }
        return AxisGeometry(input: input, kernel: kernel, stride: stride, dilation: dilation,
                            padBegin: begin, padEnd: end, output: output, ceilMode: ceilMode)
    }

    /// Resolves both axes of a sliding window, after checking explicit pads are ≥ 0.
    ///
    /// - Returns: Both axes, or `nil` when the dilated window does not fit the padded input.
    /// - Throws: ``ConvolutionError/invalidPadding(_:)`` for a negative explicit amount,
    ///   ``ConvolutionError/sizeOverflow(parameter:)`` when an intermediate overflows.
    static func resolve(input: Size2D, kernel: Size2D, stride: Size2D, dilation: Size2D, padding: Padding,
                        ceilMode: Bool = false) throws -> (rows: AxisGeometry, columns: AxisGeometry)? {
        let pads = padding.explicitAmounts
        guard pads.top >= 0, pads.bottom >= 0, pads.left >= 0, pads.right >= 0 else {
            throw ConvolutionError.invalidPadding(pads)
        }
        let rows = try resolve(input: input.height, kernel: kernel.height, stride: stride.height, dilation: dilation.height,
                               padding: padding, explicit: (pads.top, pads.bottom), ceilMode: ceilMode)
        let columns = try resolve(input: input.width, kernel: kernel.width, stride: stride.width, dilation: dilation.width,
                                  padding: padding, explicit: (pads.left, pads.right), ceilMode: ceilMode)
        guard let rows, let columns else { return nil }
        return (rows, columns)
    }

    private struct Overflow: Error {}

    private static func multiply(_ a: Int, _ b: Int) throws -> Int {
        let (value, overflow) = a.multipliedReportingOverflow(by: b)
        if overflow { throw Overflow() }
        return value
    }

    private static func add(_ a: Int, _ b: Int) throws -> Int {
        let (value, overflow) = a.addingReportingOverflow(b)
        if overflow { throw Overflow() }
        return value
    }

    private static func checked(_ name: String, _ body: () throws -> Int) throws -> Int {
        do { return try body() } catch { throw ConvolutionError.sizeOverflow(parameter: name) }
    }
}

extension AxisGeometry {
    /// How a `same` mode split its padding, e.g.
    /// `out = ceil(5 / 2) = 3, total = max((3 − 1)·2 + 3 − 5, 0) = 2 → begin 1, end 1`.
    public var samePaddingFormula: String {
        let total = padBegin + padEnd
        return "out = ceil(\(input) / \(stride)) = \(output), total = max((\(output) − 1)·\(stride) + \(effectiveKernel) − \(input), 0)"
            + " = \(total) → begin \(padBegin), end \(padEnd)"
    }
}
