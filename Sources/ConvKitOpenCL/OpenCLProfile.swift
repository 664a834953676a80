import COpenCL

/// Device-side timings of the commands one ``OpenCLStream`` ran, from
/// `clGetEventProfilingInfo`.
///
/// Every command is timed from `CL_PROFILING_COMMAND_START` to `CL_PROFILING_COMMAND_END`
/// on the device clock; `CL_PROFILING_COMMAND_QUEUED` is kept per command, so the time a
/// command waited in the queue is visible too. Commands are split by what they move:
/// host→device writes (uploads of activations, weights and biases), kernels, and
/// device→host reads (downloads).
public struct OpenCLProfile: Hashable, Sendable, CustomStringConvertible {
    /// What a command did.
    public enum CommandKind: String, Hashable, Sendable {
        /// A host→device buffer write.
        case upload
        /// A kernel launch.
        case kernel
        /// A device→host buffer read.
        case download
    }

    /// One command's timestamps, in device nanoseconds.
    public struct Command: Hashable, Sendable {
        /// What the command did.
        public var kind: CommandKind
        /// `CL_PROFILING_COMMAND_QUEUED`.
        public var queued: UInt64
        /// `CL_PROFILING_COMMAND_START`.
        public var start: UInt64
        /// `CL_PROFILING_COMMAND_END`.
        public var end: UInt64

        /// Creates a command record.
        public init(kind: CommandKind, queued: UInt64, start: UInt64, end: UInt64) {
            self.kind = kind
            self.queued = queued
            self.start = start
            self.end = end
        }

        /// Execution time, start to end (0 if a driver reports the two out of order).
        public var milliseconds: Double { end > start ? Double(end - start) / 1e6 : 0 }
        /// Time spent queued before starting.
        public var waitMilliseconds: Double { start > queued ? Double(start - queued) / 1e6 : 0 }
    }

    /// Every command, in the order it was enqueued.
    public var commands: [Command]

    /// A profile of `commands`.
    public init(commands: [Command] = []) { self.commands = commands }

    /// Host→device transfer time: the sum over every upload.
    public var uploadMilliseconds: Double { milliseconds(of: .upload) }
    /// Kernel time: the sum over every kernel.
    public var kernelMilliseconds: Double { milliseconds(of: .kernel) }
    /// Device→host transfer time: the sum over every download.
    public var downloadMilliseconds: Double { milliseconds(of: .download) }
    /// The number of kernels.
    public var kernelCount: Int { commands.count { $0.kind == .kernel } }
    /// The number of uploads.
    public var uploadCount: Int { commands.count { $0.kind == .upload } }
    /// The number of downloads.
    public var downloadCount: Int { commands.count { $0.kind == .download } }
    /// Upload + kernel + download time.
    public var totalMilliseconds: Double { commands.reduce(0) { $0 + $1.milliseconds } }
    /// From the first command's queueing to the last one's end (0 without commands).
    public var spanMilliseconds: Double {
        guard let first = commands.map(\.queued).min(), let last = commands.map(\.end).max(), last > first else { return 0 }
        return Double(last - first) / 1e6
    }

    /// Both profiles' commands.
    public static func + (lhs: Self, rhs: Self) -> Self { Self(commands: lhs.commands + rhs.commands) }

    /// `upload 0.120 ms (2), kernel 1.500 ms (3), download 0.080 ms (1)`.
    public var description: String {
        func part(_ label: String, _ ms: Double, _ count: Int) -> String {
            "\(label) \((ms * 1000).rounded() / 1000) ms (\(count))"
        }
        return [part("upload", uploadMilliseconds, uploadCount), part("kernel", kernelMilliseconds, kernelCount),
                part("download", downloadMilliseconds, downloadCount)].joined(separator: ", ")
    }

    private func milliseconds(of kind: CommandKind) -> Double {
        commands.reduce(0) { $1.kind == kind ? $0 + $1.milliseconds : $0 }
    }
}

extension OpenCLProfile.Command {
    /// Reads the three timestamps of a completed `event` on a profiling queue.
    init(kind: OpenCLProfile.CommandKind, event: cl_event) throws(OpenCLError) {
        func stamp(_ parameter: Int32) throws(OpenCLError) -> UInt64 {
            var value: cl_ulong = 0
            try clCheck(clGetEventProfilingInfo(event, cl_profiling_info(parameter), MemoryLayout<cl_ulong>.size,
                                                &value, nil), "clGetEventProfilingInfo")
            return UInt64(value)
        }
        self.init(kind: kind, queued: try stamp(CL_PROFILING_COMMAND_QUEUED), start: try stamp(CL_PROFILING_COMMAND_START),
                  end: try stamp(CL_PROFILING_COMMAND_END))
    }
}
