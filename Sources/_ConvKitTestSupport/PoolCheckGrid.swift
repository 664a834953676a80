import ConvKitCore

/// The pooling grid: mode × window × stride × padding × ceil × divisor rule × dilation ×
/// odd/even sizes, with a batch that alternates.
public enum PoolCheckGrid {
    /// Every combination whose window fits, in a fixed order.
    public static func cases() -> [(input: TensorShape, descriptor: Pool2DDescriptor)] {
        let windows = [Size2D(1), Size2D(2), Size2D(3), Size2D(height: 2, width: 3)]
        let strides: [Size2D?] = [nil, Size2D(1), Size2D(2), Size2D(height: 1, width: 2)]
        let paddings: [Padding] = [.valid, .same, .sameLower, .explicit(top: 1, bottom: 1, left: 1, right: 1),
                                   .explicit(top: 0, bottom: 2, left: 1, right: 0),
                                   .explicit(top: 3, bottom: 0, left: 0, right: 3)]
        let sizes = [Size2D(height: 7, width: 9), Size2D(height: 8, width: 6)]
        var result: [(TensorShape, Pool2DDescriptor)] = []
        for mode in PoolingMode.allCases {
            for window in windows {
                for stride in strides {
                    for padding in paddings {
                        for ceil in [false, true] {
                            for include in [false, true] where mode == .average || !include {
                                for dilation in [Size2D(1), Size2D(2)] {
                                    for size in sizes {
                                        let descriptor = Pool2DDescriptor(mode: mode, window: window, stride: stride,
                                                                          dilation: dilation, padding: padding,
                                                                          ceilMode: ceil, countIncludePad: include)
                                        let shape = TensorShape(1 + result.count % 2, 3, size.height, size.width)
                                        guard (try? descriptor.resolve(input: shape)) != nil else { continue }
                                        result.append((shape, descriptor))
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        result.append((TensorShape(2, 3, 7, 9), .global(.max)))
        result.append((TensorShape(2, 3, 7, 9), .global(.average)))
        return result
    }
}
