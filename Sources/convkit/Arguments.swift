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

    var descriptor: Conv2DDescriptor {
        Conv2DDescriptor(stride: stride, dilation: dilation, padding: padding, groups: groups)
    }
}
