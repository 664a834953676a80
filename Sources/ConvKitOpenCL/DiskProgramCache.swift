import Foundation
import Logging

/// Compiled program binaries on disk, one file per (source, options, device, driver).
///
/// Reads and writes never throw: a missing, truncated or foreign file only means the
/// caller compiles from source, and a failed write only means the next process does.
struct DiskProgramCache: Sendable {
    let directory: URL

    /// The file name for a program: readable prefix plus a hash of everything that
    /// changes the binary.
    func fileName(file: KernelFile, source: String, options: String, device: OpenCLDeviceInfo) -> String {
        var hash = FNV1a64()
        for part in [source, options, device.name, device.driverVersion, device.platformName, device.platformVersion] {
            hash.combine(part)
        }
        let stem = file.rawValue.replacingOccurrences(of: ".cl", with: "")
        return "\(stem)-\(hash.hex).bin"
    }

    /// The stored binary, or `nil` when there is none (or it cannot be read).
    func load(_ name: String) -> [UInt8]? {
        guard let data = FileManager.default.contents(atPath: directory.appendingPathComponent(name).path),
              !data.isEmpty else { return nil }
        return [UInt8](data)
    }

    /// Stores a binary atomically: concurrent processes see the old file or the whole new
    /// one, never a partial write.
    func store(_ binary: [UInt8], as name: String, logger: Logger) {
        let target = directory.appendingPathComponent(name)
        let temporary = directory.appendingPathComponent(".\(name).\(ProcessInfo.processInfo.processIdentifier)-\(UInt32.random(in: 0...UInt32.max)).tmp")
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            try Data(binary).write(to: temporary)
            guard rename(temporary.path, target.path) == 0 else {
                throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: target.path])
            }
        } catch {
            try? FileManager.default.removeItem(at: temporary)
            logger.warning("cannot write OpenCL program cache \(target.path): \(error)")
        }
    }
}
