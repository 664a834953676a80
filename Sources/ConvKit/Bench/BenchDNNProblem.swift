import Foundation

/// A convolution problem in oneDNN benchdnn's descriptor syntax.
///
/// `mb1ic64ih56iw56oc64oh56ow56kh3kw3sh1sw1ph1pw1dh0dw0g1`: batch, channels, sizes,
/// kernel, strides, begin pads and dilation written as `d − 1`, as benchdnn does. Missing
/// fields take benchdnn's defaults: `mb` 2, `g` 1, stride 1, pad 0, dilation 0, and a
/// missing width field (`iw`, `ow`, `kw`, `sw`, `pw`, `dw`) equals its height field. When
/// `oh`/`ow` are known they fix the end pads; otherwise the end pad equals the begin pad. ``canonical`` writes every field.
public struct BenchDNNProblem: Hashable, Sendable, CustomStringConvertible {
    /// The input shape `N×C×H×W`.
    public var input: TensorShape
    /// The filter shape `K×(C/g)×R×S`.
    public var weights: TensorShape
    /// Stride, dilation, explicit padding and groups.
    public var descriptor: Conv2DDescriptor
    /// The optional `n<name>` suffix.
    public var name: String?

    /// Creates a problem from shapes and a descriptor.
    public init(input: TensorShape, weights: TensorShape, descriptor: Conv2DDescriptor, name: String? = nil) {
        self.input = input
        self.weights = weights
        self.descriptor = descriptor
        self.name = name
    }

    /// Parses a descriptor.
    ///
    /// - Parameter text: One descriptor; text after `#` is ignored.
    /// - Throws: ``ConvolutionError/invalidValue(parameter:expected:actual:)`` for unknown
    ///   fields, a missing `ic`/`ih`/`oc`/`kh`, or output sizes that contradict the pads.
    public init(parsing text: String) throws {
        let body = text.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
        var fields: [String: Int] = [:]
        var name: String?
        var rest = Substring(body.trimmingCharacters(in: .whitespaces))
        func fail(_ why: String) -> ConvolutionError {
            .invalidValue(parameter: "benchdnn descriptor", expected: why, actual: "'\(text)'")
        }
        while !rest.isEmpty {
            let key = rest.prefix { $0.isLetter }
            rest = rest.dropFirst(key.count)
            if key == "n" || key == "_n" {
                name = String(rest)
                break
            }
            let digits = rest.prefix { $0.isNumber }
            rest = rest.dropFirst(digits.count)
            let known: Set<Substring> = ["mb", "g", "ic", "ih", "iw", "oc", "oh", "ow", "kh", "kw", "sh", "sw", "ph", "pw", "dh", "dw"]
            guard known.contains(key), let value = Int(digits) else {
                throw fail("fields mb, g, ic, ih, iw, oc, oh, ow, kh, kw, sh, sw, ph, pw, dh, dw followed by numbers")
            }
            fields[String(key)] = value
        }
        guard let ic = fields["ic"], let ih = fields["ih"], let oc = fields["oc"], let kh = fields["kh"] else {
            throw fail("at least ic, ih, oc and kh")
        }
        let iw = fields["iw"] ?? ih, kw = fields["kw"] ?? kh
        let g = fields["g"] ?? 1, mb = fields["mb"] ?? 2
        let sh = fields["sh"] ?? 1, dh = fields["dh"] ?? 0
        let stride = Size2D(height: sh, width: fields["sw"] ?? sh)
        let dilation = Size2D(height: dh + 1, width: (fields["dw"] ?? dh) + 1)
        let ph = fields["ph"] ?? 0, pw = fields["pw"] ?? ph
        if fields["ow"] == nil, let oh = fields["oh"], iw == ih, kw == kh { fields["ow"] = oh }
        // benchdnn's end pad, `(o−1)·s + d·(k−1) + 1 − i − begin`, is negative when the stride
        // leaves input cells unused at the end; that is the same problem as an end pad of 0.
        func endPad(_ input: Int, _ kernel: Int, _ stride: Int, _ dilation: Int, _ begin: Int, _ output: Int?) -> Int {
            guard let output else { return begin }
            return max((output - 1) * stride + dilation * (kernel - 1) + 1 - input - begin, 0)
        }
        let bottom = endPad(ih, kh, stride.height, dilation.height, ph, fields["oh"])
        let right = endPad(iw, kw, stride.width, dilation.width, pw, fields["ow"])
        self.init(input: TensorShape(mb, ic, ih, iw), weights: TensorShape(oc, ic / max(g, 1), kh, kw),
                  descriptor: Conv2DDescriptor(stride: stride, dilation: dilation,
                                               padding: .explicit(top: ph, bottom: bottom, left: pw, right: right), groups: g),
                  name: name)
        let geometry = try descriptor.resolve(input: input, weights: weights)
        if let oh = fields["oh"], oh != geometry.output.height { throw fail("oh = \(geometry.output.height) for these ih, kh, sh, ph, dh") }
        if let ow = fields["ow"], ow != geometry.output.width { throw fail("ow = \(geometry.output.width) for these iw, kw, sw, pw, dw") }
    }

    /// Every field written out: `mb…ic…ih…iw…oc…oh…ow…kh…kw…sh…sw…ph…pw…dh…dw…g…`.
    ///
    /// - Throws: ``ConvolutionError`` when the problem is invalid.
    public func canonical() throws -> String {
        let geometry = try descriptor.resolve(input: input, weights: weights)
        let d = descriptor
        return "mb\(input.batch)ic\(input.channels)ih\(input.height)iw\(input.width)"
            + "oc\(weights.batch)oh\(geometry.output.height)ow\(geometry.output.width)"
            + "kh\(weights.height)kw\(weights.width)sh\(d.stride.height)sw\(d.stride.width)"
            + "ph\(geometry.padding.top)pw\(geometry.padding.left)"
            + "dh\(d.dilation.height - 1)dw\(d.dilation.width - 1)g\(d.groups)"
            + (name.map { "n\($0)" } ?? "")
    }

    /// The canonical form, or the parse-time fields when the problem is invalid.
    public var description: String { (try? canonical()) ?? "invalid problem \(input) \(weights)" }
}
