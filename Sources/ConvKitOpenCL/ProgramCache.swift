import COpenCL
import Foundation

/// The programs one device has built in this process, each built once.
///
/// Keyed by (file, options, source location, disk cache directory). Concurrent callers
/// asking for the same key wait for one build instead of compiling in parallel; callers
/// asking for different keys build in parallel. Programs live as long as the process.
final class ProgramCache: @unchecked Sendable {
    struct Key: Hashable {
        var file: KernelFile
        var options: String
        var sources: KernelSourceLocation
        var diskDirectory: URL?
    }

    /// One key's slot; its own lock serialises the build for that key only.
    private final class Entry: @unchecked Sendable {
        let lock = NSLock()
        var program: cl_program?
    }

    private let lock = NSLock()
    private var entries: [Key: Entry] = [:]

    /// The program for `configuration` on `device`, building it on first use.
    func program(_ configuration: KernelConfiguration, on device: OpenCLDeviceContext,
                 sources: KernelSourceLocation, disk: DiskProgramCache?) throws(OpenCLError) -> (cl_program, ProgramOrigin) {
        let key = Key(file: configuration.file, options: configuration.buildOptions, sources: sources,
                      diskDirectory: disk?.directory)
        let entry = slot(for: key)
        entry.lock.lock()
        defer { entry.lock.unlock() }
        if let program = entry.program { return (program, .memory) }
        let source = try sources.source(of: configuration.file)
        // A failed build leaves the slot empty, so a later call retries (and reports again).
        let (program, origin) = try ProgramBuilder(device: device, disk: disk)
            .build(configuration.file, source: source, options: key.options)
        entry.program = program
        return (program, origin)
    }

    private func slot(for key: Key) -> Entry {
        lock.lock()
        defer { lock.unlock() }
        if let entry = entries[key] { return entry }
        let entry = Entry()
        entries[key] = entry
        return entry
    }
}
