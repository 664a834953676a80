import Foundation

/// The `.cl` files ConvKit builds, one per kernel family.
public enum KernelFile: String, CaseIterable, Hashable, Sendable, CustomStringConvertible {
    /// `conv2d_direct.cl`: one work-item per output element; right for every geometry.
    case direct = "conv2d_direct.cl"
    /// `conv2d_tiled.cl`: local-memory input tiles and register blocking over output channels.
    case tiled = "conv2d_tiled.cl"
    /// `conv2d_igemm.cl`: implicit GEMM, a register block of filters × pixels per
    /// work-item, vector loads, optional local-memory tiles.
    case igemm = "conv2d_igemm.cl"
    /// `conv2d_gemm1x1.cl`: 1×1 convolutions (any stride, padding, border) as a GEMM with a
    /// register block of filters × pixels per work-item (CPU-like devices).
    case gemm1x1 = "conv2d_gemm1x1.cl"
    /// `conv2d_depthwise.cl`: one input channel per group, a row segment of one output
    /// channel per work-item, 3×3 unrolled by define.
    case depthwise = "conv2d_depthwise.cl"
    /// `pool2d.cl`: max and average pooling, one work-item per output, plus a
    /// work-group-per-plane reduction for global pooling.
    case pool = "pool2d.cl"

    /// The file name, e.g. `conv2d_direct.cl`.
    public var description: String { rawValue }

    /// The file's main `__kernel` entry point.
    var entryPoint: String {
        switch self {
        case .direct: "conv2d_direct"
        case .tiled: "conv2d_tiled"
        case .igemm: "conv2d_igemm"
        case .gemm1x1: "conv2d_gemm1x1"
        case .depthwise: "conv2d_depthwise"
        case .pool: "pool2d"
        }
    }

    /// Every `__kernel` entry point the file defines.
    var entryPoints: [String] {
        switch self {
        case .direct, .tiled, .depthwise: [entryPoint]
        case .igemm: [entryPoint, Self.igemmPairsEntryPoint, Self.packFiltersEntryPoint]
        case .gemm1x1: [entryPoint, Self.packFiltersEntryPoint]
        case .pool: [entryPoint, Self.globalPoolEntryPoint]
        }
    }

    /// Whether the host prepends `kernels/conv_common.cl` (the border and epilogue helpers).
    var usesCommonHelpers: Bool { self != .pool }

    /// `conv_common.cl`, the helpers every convolution kernel shares.
    static let commonHelpersFile = "conv_common.cl"

    /// The embedded text of ``commonHelpersFile``.
    static var embeddedCommonHelpers: String { String(decoding: PackageResources.conv_common_cl, as: UTF8.self) }

    /// `pool2d.cl`'s global-pooling reduction.
    static let globalPoolEntryPoint = "global_pool2d"

    /// The filter repack (`conv_common.cl`, in the programs whose defines carry `RM`) that
    /// `conv2d_gemm1x1` and igemm's CPU path read their weights through.
    static let packFiltersEntryPoint = "pack_filters"

    /// igemm's pair mode (``KernelConfiguration/pairsRows(_:)``): its own entry point, so
    /// each kernel holds only its own loop nests.
    static let igemmPairsEntryPoint = "conv2d_igemm_pairs"

    /// A hash of every embedded kernel text (and the shared helpers): what a tuning
    /// result was measured with, so results of other kernels are not reused
    /// (``TuningDatabase/key(for:)``).
    static let embeddedFingerprint: String = {
        var hash = FNV1a64()
        hash.combine(embeddedCommonHelpers)
        for file in allCases { hash.combine(file.embeddedText) }
        return hash.hex
    }()

    /// The text compiled into the library by `.embedInCode("kernels")`.
    var embeddedText: String {
        let bytes: [UInt8] = switch self {
        case .direct: PackageResources.conv2d_direct_cl
        case .tiled: PackageResources.conv2d_tiled_cl
        case .igemm: PackageResources.conv2d_igemm_cl
        case .gemm1x1: PackageResources.conv2d_gemm1x1_cl
        case .depthwise: PackageResources.conv2d_depthwise_cl
        case .pool: PackageResources.pool2d_cl
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// Where kernel source text comes from.
///
/// The library carries its kernels, so an app on another machine needs no checkout;
/// a directory on disk is for editing kernels without rebuilding Swift.
public enum KernelSourceLocation: Hashable, Sendable, CustomStringConvertible {
    /// The `CONVKIT_KERNELS_DIR` directory when that variable is set and non-empty,
    /// otherwise ``embedded``. Resolved when a backend is created.
    case `default`
    /// The copy compiled into the library.
    case embedded
    /// `.cl` files read from this directory.
    case directory(URL)

    /// The concrete location `self` stands for now (never ``default``).
    public var resolved: KernelSourceLocation {
        guard case .default = self else { return self }
        if let path = ProcessInfo.processInfo.environment["CONVKIT_KERNELS_DIR"], !path.isEmpty {
            return .directory(URL(fileURLWithPath: path, isDirectory: true))
        }
        return .embedded
    }

    /// `embedded` or the directory path.
    public var description: String {
        switch self {
        case .default: "default"
        case .embedded: "embedded"
        case let .directory(url): url.path
        }
    }

    /// The source of `file`, preceded by `kernels/conv_common.cl` for the convolution
    /// kernels; each part opens with a `#line` directive naming its file, so compiler
    /// messages point at the real file and line.
    func source(of file: KernelFile) throws(OpenCLError) -> String {
        let own = "#line 1 \"kernels/\(file.rawValue)\"\n" + (try text(of: file.rawValue, embedded: file.embeddedText))
        guard file.usesCommonHelpers else { return own }
        let common = try text(of: KernelFile.commonHelpersFile, embedded: KernelFile.embeddedCommonHelpers)
        return "#line 1 \"kernels/\(KernelFile.commonHelpersFile)\"\n" + common + "\n" + own
    }

    private func text(of name: String, embedded: String) throws(OpenCLError) -> String {
        switch resolved {
        case .default, .embedded:
            return embedded
        case let .directory(url):
            do {
                return try String(contentsOf: url.appendingPathComponent(name), encoding: .utf8)
            } catch {
                throw .kernelSourceUnavailable(file: name, location: url.path, reason: "\(error)")
            }
        }
    }
}
