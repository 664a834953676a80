import Benchmark
import ConvKit
import Foundation

/// One benchmark per (layer, backend): named after the problem, e.g.
/// `conv2d r50_s1_3x3_64_64_56 1×64×56×56 k3 — cpu`. Each reports wall clock, throughput,
/// mallocs and MFLOP/s; CPU layers are prepared once (``CPUPreparedConvolution``), outside
/// the timed loop. `CONVKIT_BENCH_SUITES=resnet50,tiny` narrows the sets;
/// `CONVKIT_BENCH_DEVICES=cpu,opencl` adds the OpenCL backend.
let benchmarks: @Sendable () -> Void = {
    let environment = ProcessInfo.processInfo.environment
    let suites = (environment["CONVKIT_BENCH_SUITES"] ?? "resnet50,vgg16,mobilenetv2,tiny")
        .split(separator: ",").compactMap { LayerSuite(rawValue: String($0)) }
    let devices = (environment["CONVKIT_BENCH_DEVICES"] ?? "cpu").split(separator: ",").map(String.init)
    let mflops = BenchmarkMetric.custom("MFLOP/s", polarity: .prefersLarger, useScalingFactor: false)
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .mallocCountTotal, mflops],
        warmupIterations: 3, maxDuration: .seconds(2), maxIterations: 1_000)

    for device in devices {
        guard let request = try? DeviceRequest(parsing: device),
              let backend = try? ConvolutionDispatcher.shared.select(request).backend else { continue }
        for suite in suites {
            for layer in suite.layers {
                guard let geometry = try? layer.problem.descriptor.resolve(input: layer.problem.input,
                                                                           weights: layer.problem.weights) else { continue }
                let input = (0..<geometry.input.elementCount).map { Float($0 % 13) * 0.1 - 0.6 }
                let weights = (0..<geometry.filter.elementCount).map { Float($0 % 7) * 0.1 - 0.3 }
                let name = "conv2d \(layer.name) \(geometry.input) k\(geometry.kernel.height) — \(backend.name)"
                // A CPU layer is prepared once (weights packed), as convkit bench times it;
                // outside the benchmark, so its copies are not counted as the calls' mallocs.
                let prepared = try? weights.withUnsafeBufferPointer { w in
                    try (backend as? CPUBackend)?.prepare(geometry, weights: w, bias: nil)
                }
                Benchmark(name) { benchmark in
                    var output = [Float](repeating: 0, count: geometry.output.elementCount)
                    try input.withUnsafeBufferPointer { x in
                        try weights.withUnsafeBufferPointer { w in
                            try output.withUnsafeMutableBufferPointer { y in
                                let start = ContinuousClock.now
                                for _ in benchmark.scaledIterations {
                                    if let prepared {
                                        try prepared.execute(input: x, output: y)
                                    } else {
                                        try backend.convolve(geometry, input: x, weights: w, bias: nil, output: y)
                                    }
                                }
                                let seconds = (ContinuousClock.now - start) / .seconds(1)
                                let perCall = seconds / Double(benchmark.scaledIterations.count)
                                benchmark.measurement(mflops, Int(Double(geometry.flops) / perCall / 1e6))
                            }
                        }
                    }
                    blackHole(output)
                }
            }
        }
    }
}
