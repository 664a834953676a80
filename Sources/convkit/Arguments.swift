import ArgumentParser
import ConvKit

/// Parsers for the CLI's comma-separated values; each throws a message that says what
/// it expected.
enum Arguments {
    struct Invalid: Error, CustomStringConvertible {
        var description: String
    }

    static func integers(_ text: String, count allowed: Set<Int>, name: String, form: String) throws -> [Int] {
        let parts = text.split(separator: ",", omittingEmptySubsequences: false)
        let values = parts.compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard values.count == parts.count, allowed.contains(values.count) else {
            throw Invalid(description: "expected \(name) as \(form), but got '\(text)'")
        }
        return values
    }

    /// `N,C,H,W`.
    static func shape(_ text: String) throws -> TensorShape {
        let v = try integers(text, count: [4], name: "a shape", form: "N,C,H,W")
        return TensorShape(v[0], v[1], v[2], v[3])
    }

    /// `H[,W]`.
    static func pair(_ text: String) throws -> Size2D {
        let v = try integers(text, count: [1, 2], name: "a size", form: "H or H,W")
        return v.count == 1 ? Size2D(v[0]) : Size2D(height: v[0], width: v[1])
    }

    /// `valid`, `same`, `same-upper`, `same-lower`, `p`, `ph,pw` or `top,bottom,left,right`.
    static func padding(_ text: String) throws -> Padding {
        switch text.lowercased() {
        case "valid": return .valid
        case "same", "same-upper", "same_upper": return .same
        case "same-lower", "same_lower": return .sameLower
        default:
            let v = try integers(text, count: [1, 2, 4], name: "padding",
                                 form: "valid, same, same-lower, p, ph,pw or top,bottom,left,right")
            switch v.count {
            case 1: return .explicit(top: v[0], bottom: v[0], left: v[0], right: v[0])
            case 2: return .explicit(top: v[0], bottom: v[0], left: v[1], right: v[1])
            default: return .explicit(top: v[0], bottom: v[1], left: v[2], right: v[3])
            }
        }
    }

    /// `identity`, `relu`, `relu6`, `clamp:LO,HI`, `leaky-relu[:ALPHA]` (default 0.01), `sigmoid`, `tanh`.
    static func activation(_ text: String) throws -> Activation {
        let parts = text.split(separator: ":", maxSplits: 1).map(String.init)
        let name = parts.first?.lowercased() ?? ""
        let arguments = parts.count > 1 ? parts[1].split(separator: ",").map { Float($0.trimmingCharacters(in: .whitespaces)) } : []
        let form = "identity, relu, relu6, clamp:LO,HI, leaky-relu[:ALPHA], sigmoid or tanh"
        switch (name, arguments.count) {
        case ("identity", 0), ("none", 0): return .identity
        case ("relu", 0): return .relu
        case ("relu6", 0): return .relu6
        case ("sigmoid", 0): return .sigmoid
        case ("tanh", 0): return .tanh
        case ("leaky-relu", 0), ("leakyrelu", 0): return .leakyRelu(alpha: 0.01)
        case ("leaky-relu", 1), ("leakyrelu", 1):
            if let alpha = arguments[0] { return .leakyRelu(alpha: alpha) }
        case ("clamp", 2):
            if let lower = arguments[0], let upper = arguments[1] { return .clamp(lower: lower, upper: upper) }
        default: break
        }
        throw Invalid(description: "expected an activation as \(form), but got '\(text)'")
    }

    /// `zeros`, `reflect`, `replicate` or `circular`.
    static func border(_ text: String) throws -> BorderMode {
        guard let mode = BorderMode(rawValue: text.lowercased()) else {
            throw Invalid(description: "expected a border as zeros, reflect, replicate or circular, but got '\(text)'")
        }
        return mode
    }

    static func device(_ text: String) throws -> DeviceRequest {
        do { return try DeviceRequest(parsing: text) } catch { throw Invalid(description: "\(error)") }
    }
}

/// The convolution parameters `shape` and `conv` share.
struct ConvolutionOptions: ParsableArguments {
    @Option(help: "Stride: H or H,W (default 1).", transform: Arguments.pair)
    var stride = Size2D(1)

    @Option(help: "Padding: valid, same (= same-upper), same-lower, p, ph,pw or top,bottom,left,right.",
            transform: Arguments.padding)
    var padding = Padding.valid

    @Option(help: "Dilation: H or H,W (default 1).", transform: Arguments.pair)
    var dilation = Size2D(1)

    @Option(help: "Channel groups; must divide input and output channels (default 1).")
    var groups = 1

    @Option(help: "What padding cells hold: zeros (default), reflect, replicate, circular.", transform: Arguments.border)
    var border = BorderMode.zeros

    @Option(help: "Fused after the bias: identity (default), relu, relu6, clamp:LO,HI, leaky-relu[:ALPHA], sigmoid, tanh.",
            transform: Arguments.activation)
    var activation = Activation.identity

    var descriptor: Conv2DDescriptor {
        Conv2DDescriptor(stride: stride, dilation: dilation, padding: padding, groups: groups, border: border,
                         activation: activation)
    }
}
