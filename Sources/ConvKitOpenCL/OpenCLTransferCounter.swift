import Foundation

/// How many buffer transfers between host and device a backend has made.
///
/// Every transfer is one buffer copied as a whole: a `CL_MEM_COPY_HOST_PTR` buffer
/// creation or an `clEnqueueWriteBuffer` (an upload), or an `clEnqueueReadBuffer` (a
/// download). Uploads are split by what they carry, so a test can see that a prepared
/// layer chain moves its weights once and then only its input and output.
public struct OpenCLTransferStatistics: Hashable, Sendable, CustomStringConvertible {
    /// Host→device copies of feature maps (a convolution's or pooling's input, a chain's input).
    public var activationUploads: Int
    /// Host→device copies of weights and biases.
    public var parameterUploads: Int
    /// Device→host copies (results).
    public var downloads: Int

    /// Creates statistics; all counts default to 0.
    public init(activationUploads: Int = 0, parameterUploads: Int = 0, downloads: Int = 0) {
        self.activationUploads = activationUploads
        self.parameterUploads = parameterUploads
        self.downloads = downloads
    }

    /// Every host→device copy.
    public var uploads: Int { activationUploads + parameterUploads }

    /// The transfers made between two snapshots, `later - earlier`.
    public static func - (later: Self, earlier: Self) -> Self {
        Self(activationUploads: later.activationUploads - earlier.activationUploads,
             parameterUploads: later.parameterUploads - earlier.parameterUploads,
             downloads: later.downloads - earlier.downloads)
    }

    /// `1 activation upload, 4 parameter uploads, 1 download`.
    public var description: String {
        "\(activationUploads) activation upload\(activationUploads == 1 ? "" : "s"), "
            + "\(parameterUploads) parameter upload\(parameterUploads == 1 ? "" : "s"), "
            + "\(downloads) download\(downloads == 1 ? "" : "s")"
    }
}

/// The running transfer counts of one ``OpenCLBackend`` (shared by its copies and the
/// layer chains it prepares).
///
/// Thread-safe: each count changes atomically under a lock, and ``statistics`` reads all
/// three at once, so a snapshot never mixes two moments.
public final class OpenCLTransferCounter: @unchecked Sendable {
    /// One kind of transfer.
    public enum Transfer: Sendable {
        /// A feature map to the device.
        case activationUpload
        /// Weights or a bias to the device.
        case parameterUpload
        /// A result from the device.
        case download
    }

    private let lock = NSLock()
    private var counts = OpenCLTransferStatistics()

    /// A counter at zero.
    public init() {}

    /// The counts so far.
    public var statistics: OpenCLTransferStatistics { lock.withLock { counts } }

    /// Counts one transfer.
    func record(_ transfer: Transfer) {
        lock.withLock {
            switch transfer {
            case .activationUpload: counts.activationUploads += 1
            case .parameterUpload: counts.parameterUploads += 1
            case .download: counts.downloads += 1
            }
        }
    }
}
