import ConvKitCore
import Foundation

/// Tuned kernel configurations, per device and ``ShapeClass``, kept as JSON in the
/// program cache directory (``ProgramCacheLocation``) as ``fileName``.
///
/// Format (version 1):
/// ```json
/// { "version": 1,
///   "devices": { "<CL_DEVICE_NAME> | <CL_DRIVER_VERSION> | kernels <hash>": {
///       "3x3.s1.large.wide": { "file": "conv2d_igemm.cl", "tn": 4, "tm": 2, "rn": 16, "rm": 8,
///                              "local": false, "tk": 8, "unrolled": false,
///                              "milliseconds": 1.9, "gflops": 61.2 } } } }
/// ```
/// `tn`/`tm` are the work-group width/height, `rm` the filter block (`K_BLOCK` for the
/// tiled kernel), `rn` the pixel block, `unrolled` whether the 3×3 unrolled direct/tiled
/// build is meant. A missing, unreadable or corrupt file, or an entry the backend cannot
/// choose, means the heuristic decides; it is never an error.
public struct TuningDatabase: Codable, Hashable, Sendable {
    /// `opencl-tuning.json`.
    public static let fileName = "opencl-tuning.json"
    /// The format version this code reads and writes.
    public static let currentVersion = 1

    /// One tuned winner.
    public struct Entry: Codable, Hashable, Sendable {
        public var file: String
        public var tn: Int
        public var tm: Int
        public var rn: Int
        public var rm: Int
        public var local: Bool
        public var tk: Int
        public var unrolled: Bool
        /// The winner's time summed over the class's tuned shapes.
        public var milliseconds: Double
        public var gflops: Double

        public init(_ configuration: KernelConfiguration, milliseconds: Double, gflops: Double) {
            file = configuration.file.rawValue
            tn = configuration.workGroup.width
            tm = configuration.workGroup.height
            rn = configuration.pixelBlock
            rm = configuration.channelBlock
            local = configuration.localTiles
            tk = configuration.reductionTile
            unrolled = configuration.unrolledKernel != nil
            self.milliseconds = milliseconds
            self.gflops = gflops
        }

        /// The configuration this entry names for `geometry` (the unrolled size is the
        /// geometry's filter), or `nil` for an unknown file.
        func configuration(for geometry: ConvolutionGeometry) -> KernelConfiguration? {
            guard let kernelFile = KernelFile(rawValue: file), kernelFile != .pool else { return nil }
            if kernelFile == .igemm {
                return .igemm(tile: Size2D(height: tm, width: tn), filters: rm, pixels: rn, local: local, reduction: tk)
            }
            if kernelFile == .gemm1x1 { return .gemm1x1(tile: Size2D(height: tm, width: tn), filters: rm, pixels: rn) }
            if kernelFile == .depthwise {
                return .depthwise(width: tn, pixels: rn, unrolled: unrolled ? geometry.kernel : nil)
            }
            return KernelConfiguration(file: kernelFile, workGroup: Size2D(height: tm, width: tn), channelBlock: rm,
                                       unrolledKernel: unrolled ? geometry.kernel : nil)
        }
    }

    public var version = TuningDatabase.currentVersion
    /// Device key → shape class name → winner.
    public var devices: [String: [String: Entry]] = [:]

    public init() {}

    /// `CL_DEVICE_NAME | CL_DRIVER_VERSION | kernels <hash>`: the hash of the library's
    /// embedded kernels, so winners measured with other kernels (another ConvKit
    /// version) are not applied to these; the heuristic decides until `convkit tune`
    /// runs again.
    public static func key(for device: OpenCLDeviceInfo) -> String {
        "\(device.name) | \(device.driverVersion) | kernels \(KernelFile.embeddedFingerprint)"
    }

    /// The tuned winner of `shapeClass` on `device`.
    public func entry(for shapeClass: ShapeClass, on device: OpenCLDeviceInfo) -> Entry? {
        devices[Self.key(for: device)]?[shapeClass.name]
    }

    /// Records `entry` as the winner of `shapeClass` on `device`.
    public mutating func set(_ entry: Entry, for shapeClass: ShapeClass, on device: OpenCLDeviceInfo) {
        devices[Self.key(for: device), default: [:]][shapeClass.name] = entry
    }

    func configuration(for shapeClass: ShapeClass, on device: OpenCLDeviceInfo,
                       geometry: ConvolutionGeometry) -> KernelConfiguration? {
        entry(for: shapeClass, on: device)?.configuration(for: geometry)
    }

    /// The database in `directory`, or `nil` when there is none or it cannot be decoded
    /// (logged), or has another version.
    public static func load(from directory: URL) -> TuningDatabase? {
        let url = directory.appendingPathComponent(fileName)
        guard let data = FileManager.default.contents(atPath: url.path) else { return nil }
        guard let database = try? JSONDecoder().decode(TuningDatabase.self, from: data),
              database.version == currentVersion else {
            logger.warning("ignoring unreadable OpenCL tuning database \(url.path); using the heuristic")
            return nil
        }
        return database
    }

    /// Writes the database to `directory` atomically (created when needed).
    public func store(in directory: URL) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(self).write(to: directory.appendingPathComponent(Self.fileName), options: .atomic)
    }
}
