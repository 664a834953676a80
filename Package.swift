// swift-tools-version:6.0
import PackageDescription

// No unsafeFlags anywhere: SwiftPM refuses them in version-based dependencies, and users
// link ConvKit by version. The AVX2/FMA micro-kernels get their ISA from function
// attributes inside CConvKitKernels instead.
let package = Package(
    name: "ConvKit",
    platforms: [.macOS(.v13)],
    products: [
        .library(name: "ConvKit", targets: ["ConvKit"]),
        .executable(name: "convkit", targets: ["convkit"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
    ],
    targets: [
        .target(name: "ConvKitCore"),
        .target(name: "CConvKitKernels"),
        .target(name: "ConvKitCPU", dependencies: ["ConvKitCore", "CConvKitKernels"]),
        .systemLibrary(
            name: "COpenCL",
            providers: [.apt(["ocl-icd-opencl-dev", "opencl-headers"])]
        ),
        .target(
            name: "ConvKitOpenCL",
            dependencies: [
                "ConvKitCore", "COpenCL",
                .product(name: "Logging", package: "swift-log"),
            ],
            resources: [.embedInCode("kernels")]
        ),
        .target(
            name: "ConvKit",
            dependencies: [
                "ConvKitCore", "ConvKitCPU", "ConvKitOpenCL",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "convkit",
            dependencies: [
                "ConvKit", "_ConvKitTestSupport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(name: "_ConvKitTestSupport", dependencies: ["ConvKitCore"]),
        .testTarget(name: "ConvKitCoreTests", dependencies: ["ConvKitCore", "_ConvKitTestSupport"]),
        .testTarget(name: "ConvKitCPUTests", dependencies: ["ConvKitCPU", "_ConvKitTestSupport"]),
        .testTarget(name: "ConvKitOpenCLTests", dependencies: ["ConvKitOpenCL", "ConvKitCPU", "_ConvKitTestSupport"]),
        .testTarget(name: "ConvKitTests", dependencies: ["ConvKit", "_ConvKitTestSupport"]),
        .testTarget(name: "convkitCLITests", dependencies: ["ConvKit", "convkit"]),
    ],
    swiftLanguageModes: [.v6]
)
