/// Why the dispatcher could not pick or run a backend.
public enum DispatchError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The requested device does not exist; `available` lists what does.
    case unknownDevice(requested: String, available: [String], unavailable: [String])
    /// The chosen device failed and fallback was off (strict mode).
    case deviceFailed(backend: String, reason: String)

    /// One line saying what went wrong and what would work.
    public var description: String {
        switch self {
        case let .unknownDevice(requested, available, unavailable):
            "unknown device '\(requested)': expected one of \(available.joined(separator: ", "))"
                + (unavailable.isEmpty ? "" : " (not available: \(unavailable.joined(separator: "; ")))")
        case let .deviceFailed(backend, reason):
            "\(backend) failed and strict mode forbids falling back to the CPU: \(reason)"
        }
    }
}

/// A backend that could not be opened, and why.
public struct UnavailableBackend: Hashable, Sendable, CustomStringConvertible {
    /// The name it would have had (`"opencl"`, `"opencl:1"`).
    public var name: String
    /// Why it is not there, for people.
    public var reason: String

    /// Creates an entry.
    public init(name: String, reason: String) {
        self.name = name
        self.reason = reason
    }

    /// `name: reason`.
    public var description: String { "\(name): \(reason)" }
}
