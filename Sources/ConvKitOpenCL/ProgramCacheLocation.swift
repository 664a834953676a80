import Foundation

/// Where compiled kernel binaries are kept between processes.
///
/// A cold PoCL build of one kernel file takes 570–780 ms; loading its cached binary takes
/// 1–2 ms, so the disk cache is what makes a short-lived process (the CLI) fast.
public enum ProgramCacheLocation: Hashable, Sendable, CustomStringConvertible {
    /// `CONVKIT_CACHE_DIR` when set (the value `off` disables the cache), otherwise
    /// `$XDG_CACHE_HOME/convkit`, otherwise `~/.cache/convkit`. Resolved when a backend
    /// is created.
    case `default`
    /// No disk cache: every process compiles from source.
    case off
    /// Binaries are kept in this directory (created when needed).
    case directory(URL)

    /// The directory `self` stands for now, or `nil` when the disk cache is off.
    public var resolvedDirectory: URL? {
        switch self {
        case .off: return nil
        case let .directory(url): return url
        case .default:
            let environment = ProcessInfo.processInfo.environment
            if let value = environment["CONVKIT_CACHE_DIR"], !value.isEmpty {
                return value == "off" ? nil : URL(fileURLWithPath: value, isDirectory: true)
            }
            if let xdg = environment["XDG_CACHE_HOME"], !xdg.isEmpty {
                return URL(fileURLWithPath: xdg, isDirectory: true).appendingPathComponent("convkit", isDirectory: true)
            }
            return FileManager.default.homeDirectoryForCurrentUser
                .appendingPathComponent(".cache/convkit", isDirectory: true)
        }
    }

    /// `off`, `default` or the directory path.
    public var description: String {
        switch self {
        case .default: "default"
        case .off: "off"
        case let .directory(url): url.path
        }
    }
}

/// 64-bit FNV-1a: a stable hash for cache file names (Swift's `Hasher` is seeded per
/// process, so it cannot name files that outlive the process).
struct FNV1a64 {
    private(set) var value: UInt64 = 0xCBF2_9CE4_8422_2325

    mutating func combine(_ text: String) {
        for byte in text.utf8 {
            value ^= UInt64(byte)
            value &*= 0x0000_0100_0000_01B3
        }
        // A separator byte keeps ("ab", "c") and ("a", "bc") apart.
        value ^= 0xFF
        value &*= 0x0000_0100_0000_01B3
    }

    var hex: String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }
}
