/// Named sets of real network layers for benchmarks (batch 1, float32, NCHW).
///
/// The same shapes as the peer harness's `shapes.json`, so ConvKit's own figures and the
/// peers' line up cell by cell.
public enum LayerSuite: String, CaseIterable, Sendable {
    /// The 23 distinct convolution layers of ResNet-50 v1.5 at 224×224.
    case resnet50
    /// Three VGG-16 3×3 layers.
    case vgg16
    /// MobileNetV2 depthwise and pointwise layers.
    case mobilenetv2
    /// Tiny problems: the 5×5 textbook example, LeNet.
    case tiny

    /// One layer: a short name and its benchdnn descriptor.
    public struct Layer: Hashable, Sendable {
        /// The layer's name in the peer harness.
        public var name: String
        /// The problem.
        public var problem: BenchDNNProblem
        /// How often the layer occurs in its network.
        public var count: Int
    }

    // (name, C, H, K, R, stride, pad, groups, count); W = H, S = R, dilation 1.
    private typealias Row = (String, Int, Int, Int, Int, Int, Int, Int, Int)

    private var rows: [Row] {
        switch self {
        case .resnet50: [
            ("r50_conv1_7x7s2_3_64_224", 3, 224, 64, 7, 2, 3, 1, 1),
            ("r50_s1_1x1_64_64_56", 64, 56, 64, 1, 1, 0, 1, 1),
            ("r50_s1_3x3_64_64_56", 64, 56, 64, 3, 1, 1, 1, 3),
            ("r50_s1_1x1_64_256_56", 64, 56, 256, 1, 1, 0, 1, 4),
            ("r50_s1_1x1_256_64_56", 256, 56, 64, 1, 1, 0, 1, 2),
            ("r50_s2_1x1_256_128_56", 256, 56, 128, 1, 1, 0, 1, 1),
            ("r50_s2_3x3s2_128_128_56", 128, 56, 128, 3, 2, 1, 1, 1),
            ("r50_s2_ds1x1s2_256_512_56", 256, 56, 512, 1, 2, 0, 1, 1),
            ("r50_s2_1x1_128_512_28", 128, 28, 512, 1, 1, 0, 1, 4),
            ("r50_s2_1x1_512_128_28", 512, 28, 128, 1, 1, 0, 1, 3),
            ("r50_s2_3x3_128_128_28", 128, 28, 128, 3, 1, 1, 1, 3),
            ("r50_s3_1x1_512_256_28", 512, 28, 256, 1, 1, 0, 1, 1),
            ("r50_s3_3x3s2_256_256_28", 256, 28, 256, 3, 2, 1, 1, 1),
            ("r50_s3_ds1x1s2_512_1024_28", 512, 28, 1024, 1, 2, 0, 1, 1),
            ("r50_s3_1x1_256_1024_14", 256, 14, 1024, 1, 1, 0, 1, 6),
            ("r50_s3_1x1_1024_256_14", 1024, 14, 256, 1, 1, 0, 1, 5),
            ("r50_s3_3x3_256_256_14", 256, 14, 256, 3, 1, 1, 1, 5),
            ("r50_s4_1x1_1024_512_14", 1024, 14, 512, 1, 1, 0, 1, 1),
            ("r50_s4_3x3s2_512_512_14", 512, 14, 512, 3, 2, 1, 1, 1),
            ("r50_s4_ds1x1s2_1024_2048_14", 1024, 14, 2048, 1, 2, 0, 1, 1),
            ("r50_s4_1x1_512_2048_7", 512, 7, 2048, 1, 1, 0, 1, 3),
            ("r50_s4_1x1_2048_512_7", 2048, 7, 512, 1, 1, 0, 1, 2),
            ("r50_s4_3x3_512_512_7", 512, 7, 512, 3, 1, 1, 1, 2),
        ]
        case .vgg16: [
            ("vgg_3x3_64_64_224", 64, 224, 64, 3, 1, 1, 1, 1),
            ("vgg_3x3_256_256_56", 256, 56, 256, 3, 1, 1, 1, 1),
            ("vgg_3x3_512_512_14", 512, 14, 512, 3, 1, 1, 1, 1),
        ]
        case .mobilenetv2: [
            ("mbv2_dw3x3_32_112", 32, 112, 32, 3, 1, 1, 32, 1),
            ("mbv2_dw3x3s2_96_112", 96, 112, 96, 3, 2, 1, 96, 1),
            ("mbv2_dw3x3_144_56", 144, 56, 144, 3, 1, 1, 144, 1),
            ("mbv2_dw3x3s2_144_56", 144, 56, 144, 3, 2, 1, 144, 1),
            ("mbv2_dw3x3_384_14", 384, 14, 384, 3, 1, 1, 384, 1),
            ("mbv2_dw3x3_960_7", 960, 7, 960, 3, 1, 1, 960, 1),
            ("mbv2_pw1x1_24_144_56", 24, 56, 144, 1, 1, 0, 1, 1),
            ("mbv2_pw1x1_384_64_14", 384, 14, 64, 1, 1, 0, 1, 1),
        ]
        case .tiny: [
            ("tiny_1x1x5x5_k3", 1, 5, 1, 3, 1, 0, 1, 1),
            ("tiny_1x3x8x8_k3_4", 3, 8, 4, 3, 1, 1, 1, 1),
            ("tiny_lenet_c1_1_6_28_k5", 1, 28, 6, 5, 1, 2, 1, 1),
            ("tiny_lenet_c2_6_16_14_k5", 6, 14, 16, 5, 1, 0, 1, 1),
        ]
        }
    }

    /// The layers, in network order.
    public var layers: [Layer] {
        rows.map { name, c, h, k, r, stride, pad, groups, count in
            Layer(name: name,
                  problem: BenchDNNProblem(input: TensorShape(1, c, h, h), weights: TensorShape(k, c / groups, r, r),
                                           descriptor: Conv2DDescriptor(stride: Size2D(stride), padding: .symmetric(height: pad, width: pad),
                                                                        groups: groups)),
                  count: count)
        }
    }
}
