import ConvKitCore
import Foundation

/// What the host says about its processor, read once per process.
enum HostCPU {
    /// The CPU backend's device description.
    static let device: ComputeDevice = {
        let fields = cpuinfoFields()
        return ComputeDevice(kind: .cpu, name: fields.model ?? "host CPU", vendor: fields.vendor ?? "unknown",
                             computeUnits: ProcessInfo.processInfo.activeProcessorCount,
                             memoryBytes: ProcessInfo.processInfo.physicalMemory)
    }()

    /// `model name` and `vendor_id` of the first processor in `/proc/cpuinfo`, when present.
    ///
    /// Other systems (and containers that hide the file) get `nil`, never an error: the
    /// name is descriptive only.
    private static func cpuinfoFields() -> (model: String?, vendor: String?) {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return (nil, nil) }
        var model: String?, vendor: String?
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 1)
            guard parts.count == 2 else { continue }
            let key = parts[0].trimmingCharacters(in: .whitespaces)
            let value = parts[1].trimmingCharacters(in: .whitespaces)
            if key == "model name", model == nil { model = value }
            if key == "vendor_id", vendor == nil { vendor = value }
            if model != nil, vendor != nil { break }
        }
        return (model, vendor)
    }
}
