/// What the padding cells around the input hold.
///
///     border     | value at an outside index          | constraint
///     zeros      | 0                                  | —
///     reflect    | mirror, edge not repeated (−1 → 1)  | pad < input extent
///     replicate  | nearest edge value                 | —
///     circular   | wrap around (−1 → n−1)             | pad ≤ input extent
///
/// Backends map indices (``sourceIndex(_:extent:)``); none materialises a padded copy.
public enum BorderMode: String, Hashable, Sendable, CaseIterable, CustomStringConvertible {
    /// Padding cells are 0 (the default, as every framework's convolution).
    case zeros
    /// Mirror without repeating the edge: `[a b c]` → `c b | a b c | b a`.
    case reflect
    /// Repeat the edge: `[a b c]` → `a a | a b c | c c`.
    case replicate
    /// Wrap around: `[a b c]` → `b c | a b c | a b`.
    case circular

    /// The lower-case name, as the CLI spells it.
    public var description: String { rawValue }

    /// The input index whose value an index `index` (possibly outside `0..<extent`) reads,
    /// or `nil` for a zero cell.
    ///
    /// - Parameters:
    ///   - index: A padded-coordinate index, within the constraint's reach of the input.
    ///   - extent: The input extent on this axis.
    @inlinable
    public func sourceIndex(_ index: Int, extent: Int) -> Int? {
        if index >= 0, index < extent { return index }
        switch self {
        case .zeros: return nil
        case .replicate: return index < 0 ? 0 : extent - 1
        case .circular: return index < 0 ? index + extent : index - extent
        case .reflect:
            if extent == 1 { return 0 }
            return index < 0 ? -index : 2 * (extent - 1) - index
        }
    }
}
