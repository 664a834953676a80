/// Why a `.npy` file could not be read or written.
///
/// Every message starts with the file's path and says what was found and what ConvKit
/// accepts: NumPy format versions 1.0–3.0, little-endian `<f4` or `<f8`, C order.
public enum NPYError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The file could not be opened or read.
    case unreadable(path: String, reason: String)
    /// The file does not start with the `\x93NUMPY` magic string.
    case notNPY(path: String)
    /// A format version other than 1.0, 2.0 or 3.0.
    case unsupportedVersion(path: String, major: UInt8, minor: UInt8)
    /// The header dictionary is cut short or cannot be parsed.
    case malformedHeader(path: String, detail: String)
    /// A dtype other than `<f4` and `<f8`.
    case unsupportedDType(path: String, found: String)
    /// `fortran_order: True`.
    case fortranOrder(path: String)
    /// Fewer (or more) data bytes than the shape needs.
    case dataSizeMismatch(path: String, expectedBytes: Int, actualBytes: Int)
    /// An array of the wrong rank for its role (a 4-D tensor, a 1-D bias).
    case wrongRank(path: String, expected: String, shape: [Int])
    /// The output file could not be written.
    case writeFailed(path: String, reason: String)

    /// One line: the path, then what is wrong and what was expected.
    public var description: String {
        switch self {
        case let .unreadable(path, reason): "\(path): cannot read file: \(reason)"
        case let .notNPY(path): "\(path): not a .npy file: expected the magic string \\x93NUMPY at the start"
        case let .unsupportedVersion(path, major, minor):
            "\(path): unsupported .npy format version \(major).\(minor): expected 1.0, 2.0 or 3.0"
        case let .malformedHeader(path, detail): "\(path): malformed .npy header: \(detail)"
        case let .unsupportedDType(path, found):
            "\(path): unsupported dtype '\(found)': expected little-endian float32 '<f4' or float64 '<f8'"
        case let .fortranOrder(path): "\(path): Fortran-ordered array: expected C order (numpy.ascontiguousarray)"
        case let .dataSizeMismatch(path, expected, actual):
            "\(path): data is \(actual) bytes but the header's shape needs \(expected) bytes (file truncated or corrupt)"
        case let .wrongRank(path, expected, shape):
            "\(path): array of shape (\(shape.map(String.init).joined(separator: ", "))): expected \(expected)"
        case let .writeFailed(path, reason): "\(path): cannot write file: \(reason)"
        }
    }
}
