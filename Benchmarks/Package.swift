// swift-tools-version:6.1
import PackageDescription

// A package of its own so `swift test` in the root never builds the benchmark framework
// (its first build takes about a minute). Run: `cd Benchmarks && swift package benchmark`.
let package = Package(
    name: "ConvKitBenchmarks",
    platforms: [.macOS(.v13)],
    dependencies: [
        .package(name: "ConvKit", path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.0", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "ConvBenchmarks",
            dependencies: [
                .product(name: "ConvKit", package: "ConvKit"),
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/ConvBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ]
)
