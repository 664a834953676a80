import ConvKitCore

/// The table that defines the cross-check grid: every axis the issue asks to cover.
///
/// The grid is the full product of the axes below, minus combinations whose kernel does
/// not fit the (padded) input. Channel counts are deliberately not multiples of any tile
/// size, and every spatial size has `H ≠ W` where it can, so swapped axes fail.
public enum CrossCheckGrid {
    /// Every padding mode, including symmetric and asymmetric explicit amounts.
    public static let paddings: [Padding] = [
        .valid, .same, .sameLower, .explicit(top: 1, bottom: 1, left: 1, right: 1),
        .explicit(top: 0, bottom: 2, left: 1, right: 0),
    ]
    /// Strides 1, 2, 3 and one with H ≠ W.
    public static let strides: [Size2D] = [Size2D(1), Size2D(2), Size2D(3), Size2D(height: 1, width: 2)]
    /// Dilations 1, 2 and one with H ≠ W.
    public static let dilations: [Size2D] = [Size2D(1), Size2D(2), Size2D(height: 2, width: 1)]
    /// Kernel sizes, square and not.
    public static let kernels: [Size2D] = [
        Size2D(1), Size2D(2), Size2D(3), Size2D(5), Size2D(height: 1, width: 3), Size2D(height: 3, width: 1), Size2D(7),
    ]

    /// The input spatial sizes tried for a given effective kernel.
    public enum SpatialSize: CaseIterable, Sendable {
        /// Odd, H ≠ W.
        case odd
        /// Even, H ≠ W.
        case even
        /// Exactly the effective kernel: a single valid window.
        case kernelSized
        /// `1×1`: only fits with padding or a 1×1 kernel.
        case single

        func extent(effectiveKernel: Size2D) -> Size2D {
            switch self {
            case .odd: Size2D(height: 7, width: 9)
            case .even: Size2D(height: 8, width: 6)
            case .kernelSized: effectiveKernel
            case .single: Size2D(1)
            }
        }
    }

    /// How channels are grouped, with channel counts that are not multiples of tiles.
    public enum Grouping: CaseIterable, Sendable {
        /// `groups = 1`, C = 3, K = 5.
        case dense
        /// `groups = 2`, C = 6, K = 4 (3 input and 2 output channels per group).
        case twoGroups
        /// `groups = C = K = 5`.
        case depthwise

        /// `(groups, C, K)` for the given channel variant (0 in the standard grid).
        func channels(variant: Int) -> (groups: Int, input: Int, output: Int) {
            switch self {
            case .dense: (1, 3 + 2 * variant, 5 + 2 * variant)
            case .twoGroups: (2, 2 * (3 + variant), 2 * (2 + variant))
            case .depthwise: (5 + 2 * variant, 5 + 2 * variant, 5 + 2 * variant)
            }
        }
    }

    /// Batch sizes.
    public static let batches = [1, 3]

    /// The full grid: every combination whose kernel fits, in a fixed order.
    ///
    /// Batch and bias alternate with the case index rather than multiplying the grid,
    /// so each (padding, stride, dilation, kernel, size, grouping) cell is covered once
    /// and both batch sizes still meet every other axis value many times.
    ///
    /// - Parameter variants: How many channel-count variants per cell; the long mode uses
    ///   more, each with larger channel counts that stay off tile multiples.
    public static func cases(variants: Int = 1) -> [CrossCheckCase] {
        var result: [CrossCheckCase] = []
        for variant in 0..<variants {
            for padding in paddings {
                for stride in strides {
                    for dilation in dilations {
                        for kernel in kernels {
                            for size in SpatialSize.allCases {
                                for grouping in Grouping.allCases {
                                    let index = result.count
                                    let effective = Size2D(height: dilation.height * (kernel.height - 1) + 1,
                                                           width: dilation.width * (kernel.width - 1) + 1)
                                    let extent = size.extent(effectiveKernel: effective)
                                    let (groupCount, inputChannels, outputChannels) = grouping.channels(variant: variant)
                                    let descriptor = Conv2DDescriptor(stride: stride, dilation: dilation,
                                                                      padding: padding, groups: groupCount)
                                    let input = TensorShape(batches[index % batches.count], inputChannels,
                                                            extent.height, extent.width)
                                    let weights = TensorShape(outputChannels, inputChannels / groupCount,
                                                              kernel.height, kernel.width)
                                    guard (try? descriptor.resolve(input: input, weights: weights)) != nil else { continue }
                                    result.append(CrossCheckCase(input: input, weights: weights, descriptor: descriptor,
                                                                 hasBias: index % 3 != 0, seed: UInt64(index + 1)))
                                }
                            }
                        }
                    }
                }
            }
        }
        return result
    }
}
