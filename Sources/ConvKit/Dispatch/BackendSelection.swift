/// The backend a call ran on and the reason it was chosen.
public struct BackendSelection: Sendable, CustomStringConvertible {
    /// The backend that ran (after any fallback).
    public var backend: any ConvolutionBackend
    /// Why it was chosen, e.g. `cpu — 12.5 MFLOP < 50 MFLOP GPU threshold`.
    public var reason: String
    /// When the first choice failed and the call was rerun on the CPU: that choice and why.
    public var fallback: (from: String, error: String)?

    /// Creates a selection.
    public init(backend: any ConvolutionBackend, reason: String, fallback: (from: String, error: String)? = nil) {
        self.backend = backend
        self.reason = reason
        self.fallback = fallback
    }

    /// `name — reason`, plus the fallback when there was one.
    public var description: String {
        var text = "\(backend.name) — \(reason)"
        if let fallback { text += " (fell back from \(fallback.from): \(fallback.error))" }
        return text
    }
}
