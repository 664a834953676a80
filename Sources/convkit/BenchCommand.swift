import ArgumentParser
import ConvKit
import Foundation
import _ConvKitTestSupport

/// `convkit bench`: time convolutions on one backend; a markdown table and optional JSON.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench", abstract: "Benchmark convolution layers (benchdnn descriptors or built-in suites).")

    @OptionGroup var selection: ProblemSelection

    @Option(help: "cpu, opencl, opencl:N, ... (default cpu).", transform: Arguments.device)
    var device: DeviceRequest = .cpu

    @Option(help: "CPU threads (default: all cores).")
    var threads: Int?

    @Option(help: "CPU algorithm: auto, direct, gemm or winograd (default auto; cpu device only).")
    var algorithm: CPUAlgorithm = .auto

    @Option(help: "Seconds of timed calls per shape, after warm-up.")
    var budget: Double = 0.5

    @Option(help: "Machine FMA peak in GFLOP/s; adds peak_fraction to the results.")
    var peak: Double?

    @Option(help: "Write the results as a JSON array to this file.")
    var json: String?

    @Flag(help: "OpenCL only: also report device upload, kernel and download times (median over profiled runs).")
    var profile = false

    @Flag(help: "Time one-shot calls (weights handed over, and on OpenCL uploaded, per call) instead of a layer prepared once.")
    var oneShot = false

    struct Result: Codable {
        var descriptor: String
        var device: String
        var algorithm: String
        var median_ms: Double
        var min_ms: Double
        var runs: Int
        var gflops: Double
        var peak_fraction: Double?
        // With --profile (see BenchCommand+Profile.swift); omitted from the JSON otherwise.
        var upload_ms: Double?
        var kernel_ms: Double?
        var download_ms: Double?
    }

    func validate() throws {
        if algorithm != .auto, device != .cpu { throw ValidationError("--algorithm applies to --device cpu only") }
        if let threads, threads < 1 { throw ValidationError("--threads must be ≥ 1, got \(threads)") }
        guard budget > 0, budget.isFinite else { throw ValidationError("--budget must be a positive number of seconds") }
        try validateProfile()
    }

    func run() throws {
        let problems = try selection.problems()
        guard !problems.isEmpty else { throw ValidationError("nothing to benchmark: give --shape, --shapes or --suite") }
        let backend = try chooseBackend()
        let interactive = isatty(STDERR_FILENO) != 0
        var results: [Result] = []
        print("| descriptor | device | algorithm | median ms | min ms | runs | GFLOP/s |\(peak == nil ? "" : " % peak |")"
              + (profile ? profileHeader() : ""))
        print("|---|---|---|---:|---:|---:|---:|\(peak == nil ? "" : "---:|")" + (profile ? profileRule() : ""))
        for (index, problem) in problems.enumerated() {
            if interactive {
                FileHandle.standardError.write(Data("\r[\(index + 1)/\(problems.count)] \(problem)\u{1B}[K".utf8))
            }
            let geometry = try problem.descriptor.resolve(input: problem.input, weights: problem.weights)
            let result = try measure(problem, geometry, on: backend)
            results.append(result)
            let percent = result.peak_fraction.map { String(format: " %.1f |", $0 * 100) } ?? ""
            print("| \(result.descriptor) | \(result.device) | \(result.algorithm) | "
                  + String(format: "%.4f | %.4f | %d | %.2f |", result.median_ms, result.min_ms, result.runs, result.gflops)
                  + percent + profileCells(result, flops: geometry.flops))
        }
        if interactive { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
        if let json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            do {
                try encoder.encode(results).write(to: URL(fileURLWithPath: json), options: .atomic)
            } catch {
                throw CLIError.unwritable(path: json, reason: error.localizedDescription)
            }
        }
    }

    private func chooseBackend() throws -> any ConvolutionBackend {
        if device == .cpu { return CPUBackend(threads: threads, algorithm: algorithm) }
        return try ConvolutionDispatcher.shared.select(device).backend
    }

    private func measure(_ problem: BenchDNNProblem, _ geometry: ConvolutionGeometry,
                         on backend: any ConvolutionBackend) throws -> Result {
        // Seeded: the same data every run, and no system call per float (the system
        // generator spent about a second of kernel time filling 9.4 MB of weights).
        var generator = SeededGenerator(seed: 0xC0_4B17)
        let input = (0..<geometry.input.elementCount).map { _ in Float.random(in: -1..<1, using: &generator) }
        let weights = (0..<geometry.filter.elementCount).map { _ in Float.random(in: -1..<1, using: &generator) }
        var output = [Float](repeating: 0, count: geometry.output.elementCount)
        var times: [Double] = []
        try input.withUnsafeBufferPointer { x in
            try weights.withUnsafeBufferPointer { w in
                try output.withUnsafeMutableBufferPointer { y in
                    // A layer is prepared once, as a network's are, unless --one-shot: on the
                    // CPU its weights packed, on a device a one-step chain with its weights
                    // uploaded (and repacked) there, each call uploading the input and
                    // downloading the output. The preparation is not timed.
                    let prepared = try (backend as? CPUBackend).flatMap { cpu in
                        oneShot ? nil : try cpu.prepare(geometry, weights: w, bias: nil)
                    }
                    let chain = try prepared != nil || oneShot ? nil : backend.prepare(
                        LayerChainPlan([.conv(problem.descriptor, Tensor(shape: geometry.filter, scalars: weights))],
                                       input: geometry.input))
                    func call() throws -> Double {
                        let start = DispatchTime.now().uptimeNanoseconds
                        if let prepared {
                            try prepared.execute(input: x, output: y)
                        } else if let chain {
                            try chain.run(x, into: y)
                        } else {
                            try backend.convolve(geometry, input: x, weights: w, bias: nil, output: y)
                        }
                        return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
                    }
                    // Warm-up: first-call costs (kernel builds, page faults) stay out of the figures.
                    var warm = 0.0
                    repeat { warm += try call() } while warm < min(50, budget * 250)
                    var spent = 0.0
                    repeat {
                        let ms = try call()
                        times.append(ms)
                        spent += ms
                    } while (spent < budget * 1000 || times.count < 5) && times.count < 100_000
                }
            }
        }
        let profiled = try profile ? profileRuns(geometry, input: input, weights: weights, on: backend) : nil
        times.sort()
        let median = times.count % 2 == 1 ? times[times.count / 2] : (times[times.count / 2 - 1] + times[times.count / 2]) / 2
        let gflops = Double(geometry.flops) / (median * 1e6)
        return Result(descriptor: try problem.canonical(), device: backend.name,
                      algorithm: backend.algorithmName(for: geometry), median_ms: median, min_ms: times[0],
                      runs: times.count, gflops: gflops, peak_fraction: peak.map { gflops / $0 },
                      upload_ms: profiled?.upload, kernel_ms: profiled?.kernel, download_ms: profiled?.download)
    }
}

