/// Which backend a caller asked for: the `--device` / `CONVKIT_DEVICE` vocabulary.
public enum DeviceRequest: Hashable, Sendable, CustomStringConvertible {
    /// Let the dispatcher choose by device kind and problem size.
    case automatic
    /// ConvKit's multithreaded CPU backend.
    case cpu
    /// The float64 reference loops (slow; for checking).
    case reference
    /// The first OpenCL device, whatever its kind.
    case openCL
    /// The OpenCL device with this index in `convkit devices`.
    case openCLIndex(Int)
    /// The first OpenCL device whose name contains this text (case-insensitive).
    case openCLName(String)

    /// Parses `auto`, `cpu`, `reference`, `opencl`, `opencl:N` or `opencl:NAME-SUBSTRING`.
    ///
    /// - Parameter text: The request as a user typed it.
    /// - Throws: ``ConvolutionError/invalidValue(parameter:expected:actual:)`` for anything else.
    public init(parsing text: String) throws {
        let lowered = text.lowercased()
        switch lowered {
        case "auto", "": self = .automatic
        case "cpu": self = .cpu
        case "reference", "ref": self = .reference
        case "opencl": self = .openCL
        default:
            guard lowered.hasPrefix("opencl:") else {
                throw ConvolutionError.invalidValue(
                    parameter: "device", expected: "auto, cpu, reference, opencl, opencl:N or opencl:NAME", actual: "'\(text)'")
            }
            let rest = String(text.dropFirst("opencl:".count))
            if let index = Int(rest) {
                self = .openCLIndex(index)
            } else if rest.isEmpty {
                self = .openCL
            } else {
                self = .openCLName(rest)
            }
        }
    }

    /// The canonical spelling.
    public var description: String {
        switch self {
        case .automatic: "auto"
        case .cpu: "cpu"
        case .reference: "reference"
        case .openCL: "opencl"
        case let .openCLIndex(index): "opencl:\(index)"
        case let .openCLName(name): "opencl:\(name)"
        }
    }
}
