import Foundation
import Logging

/// Chooses a backend for each call, and reruns on the CPU when a device fails.
///
/// Precedence: an explicit ``DeviceRequest`` argument, then the `CONVKIT_DEVICE`
/// environment variable, then the automatic policy: a GPU or accelerator OpenCL device
/// when the problem's FLOP count reaches ``gpuThresholdFLOPs``, the CPU backend otherwise.
/// A CPU-type OpenCL device (PoCL) is used only when asked for by name or index.
///
/// Caller mistakes (``ConvolutionError``) throw at once and are never retried. A device
/// failure on an OpenCL backend reruns the call on the CPU and records why, unless
/// ``strict`` (or `CONVKIT_STRICT=1`) is set.
public final class ConvolutionDispatcher: Sendable {
    /// Every backend that opened: `cpu`, `reference`, then each OpenCL device.
    public let backends: [any ConvolutionBackend]
    /// Every backend that did not open, with the reason.
    public let unavailable: [UnavailableBackend]
    /// The FLOP count from which a GPU is worth its transfers and launch.
    public let gpuThresholdFLOPs: Int
    /// Whether a device failure throws instead of falling back to the CPU.
    public let strict: Bool

    /// The default FLOP threshold for the automatic choice of a GPU: 50 MFLOP.
    public static let defaultGPUThresholdFLOPs = 50_000_000

    let logger = Logger(label: "convkit.dispatch")

    /// Creates a dispatcher over explicit backends (tests inject failing ones here).
    ///
    /// - Parameters:
    ///   - backends: The backends that opened; must include one named `cpu` for fallback.
    ///   - unavailable: Backends that could not open, with reasons.
    ///   - gpuThresholdFLOPs: The automatic policy's GPU threshold.
    ///   - strict: `true` turns fallback off; `nil` reads `CONVKIT_STRICT`.
    public init(backends: [any ConvolutionBackend], unavailable: [UnavailableBackend] = [],
                gpuThresholdFLOPs: Int = ConvolutionDispatcher.defaultGPUThresholdFLOPs, strict: Bool? = nil) {
        self.backends = backends
        self.unavailable = unavailable
        self.gpuThresholdFLOPs = gpuThresholdFLOPs
        self.strict = strict ?? (Environment.value("CONVKIT_STRICT") == "1")
    }

    /// The backend named `name`, if it opened.
    public func backend(named name: String) -> (any ConvolutionBackend)? {
        backends.first { $0.name == name }
    }

    /// The OpenCL backends, in device order.
    public var openCLBackends: [any ConvolutionBackend] { backends.filter { $0.name.hasPrefix("opencl") } }

    /// Picks the backend for a problem.
    ///
    /// - Parameters:
    ///   - request: What the caller asked for; `nil` reads `CONVKIT_DEVICE`, then `auto`.
    ///   - geometry: The problem, used by the automatic policy; `nil` picks as for a small one.
    /// - Returns: The backend and a reason a person can read.
    /// - Throws: ``DispatchError/unknownDevice(requested:available:unavailable:)`` for a
    ///   device that is not there; ``ConvolutionError`` for an unparsable `CONVKIT_DEVICE`.
    public func select(_ request: DeviceRequest? = nil, for geometry: ConvolutionGeometry? = nil) throws -> BackendSelection {
        let (resolved, source) = try effectiveRequest(request)
        switch resolved {
        case .automatic:
            return automaticChoice(flops: geometry?.flops ?? 0, geometry: geometry)
        case .cpu, .reference:
            guard let backend = backend(named: resolved.description) else { throw unknown(resolved) }
            return BackendSelection(backend: backend, reason: "requested by \(source)")
        case .openCL:
            guard let backend = openCLBackends.first else { throw unknown(resolved) }
            return BackendSelection(backend: backend, reason: "requested by \(source) (first OpenCL device)")
        case let .openCLIndex(index):
            guard let backend = backend(named: "opencl:\(index)") else { throw unknown(resolved) }
            return BackendSelection(backend: backend, reason: "requested by \(source)")
        case let .openCLName(text):
            guard let backend = openCLBackends.first(where: { $0.device.name.lowercased().contains(text.lowercased()) })
            else { throw unknown(resolved) }
            return BackendSelection(backend: backend, reason: "requested by \(source) ('\(text)' matches \(backend.device.name))")
        }
    }

    private func effectiveRequest(_ request: DeviceRequest?) throws -> (DeviceRequest, String) {
        if let request { return (request, "caller") }
        if let text = Environment.value("CONVKIT_DEVICE"), !text.isEmpty {
            return (try DeviceRequest(parsing: text), "CONVKIT_DEVICE=\(text)")
        }
        return (.automatic, "default")
    }

    /// What the automatic policy picks for a problem of `flops` operations.
    ///
    /// - Parameters:
    ///   - flops: The problem's FLOP count.
    ///   - geometry: The problem, when known, so a device that cannot run it is passed over.
    /// - Returns: The backend and why.
    public func automaticChoice(flops: Int, geometry: ConvolutionGeometry? = nil) -> BackendSelection {
        let cpu = backend(named: "cpu") ?? backends[0]
        let accelerators = openCLBackends.filter { $0.device.kind != .cpu }
        guard let gpu = accelerators.first(where: { geometry.map($0.support(for:))?.isSupported ?? true }) else {
            let why = openCLBackends.isEmpty
                ? "opencl unavailable: " + (unavailable.first { $0.name.hasPrefix("opencl") }?.reason ?? "no OpenCL device")
                : "no GPU or accelerator OpenCL device (CPU-type OpenCL devices are used only when requested)"
            return BackendSelection(backend: cpu, reason: "auto: \(why)")
        }
        let threshold = Self.formatFLOPs(gpuThresholdFLOPs)
        if flops >= gpuThresholdFLOPs {
            return BackendSelection(backend: gpu, reason: "auto: \(Self.formatFLOPs(flops)) ≥ \(threshold) GPU threshold")
        }
        return BackendSelection(backend: cpu, reason: "auto: \(Self.formatFLOPs(flops)) < \(threshold) GPU threshold")
    }

    private func unknown(_ request: DeviceRequest) -> DispatchError {
        .unknownDevice(requested: request.description, available: ["auto"] + backends.map(\.name),
                       unavailable: unavailable.map(\.description))
    }

    /// `1.2 GFLOP`, `50 MFLOP`, `1728 FLOP` (exact below a million).
    public static func formatFLOPs(_ flops: Int) -> String {
        let value = Double(flops)
        func trimmed(_ number: Double) -> String {
            let text = String(format: "%.1f", number)
            return text.hasSuffix(".0") ? String(text.dropLast(2)) : text
        }
        if value >= 1e9 { return "\(trimmed(value / 1e9)) GFLOP" }
        if value >= 1e6 { return "\(trimmed(value / 1e6)) MFLOP" }
        return "\(flops) FLOP"
    }
}
