import ArgumentParser
import ConvKit
import Foundation

/// `convkit tune`: times a bounded set of OpenCL kernel configurations per shape class
/// and stores the winners in the tuning database of the program cache directory.
struct TuneCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tune",
        abstract: "Autotune the OpenCL kernels per shape class; winners go to the tuning database in the cache directory.")

    @OptionGroup var selection: ProblemSelection

    @Option(help: "opencl or opencl:N (default opencl).")
    var device: String = "opencl"

    @Option(help: "Seconds to spend at most; no configuration starts after it (default 60).")
    var budget: Double = 60

    func run() throws {
        let problems = try selection.problems()
        guard !problems.isEmpty else { throw ValidationError("nothing to tune: give --shape, --shapes or --suite") }
        let index: Int
        if device == "opencl" { index = 0 }
        else if device.hasPrefix("opencl:"), let n = Int(device.dropFirst(7)) { index = n }
        else { throw ValidationError("--device must be opencl or opencl:N") }
        let backend = try OpenCLBackend(deviceIndex: index)
        let geometries = try problems.map { try $0.descriptor.resolve(input: $0.input, weights: $0.weights) }
        print("tuning \(geometries.count) shapes on \(backend.deviceInfo.name) (\(backend.deviceInfo.driverVersion)), budget \(budget) s")
        let report = try backend.tune(geometries, budget: budget) { print($0) }
        print("| class | shapes | tried | winner | ms | GFLOP/s | heuristic ms |")
        print("|---|---:|---:|---|---:|---:|---:|")
        for result in report.classes {
            let winner = "\(result.winner.file) \(result.winner.defines.map { "\($0.name)=\($0.value)" }.joined(separator: " "))"
            print("| \(result.shapeClass) | \(result.shapes) | \(result.tried) | \(winner) | "
                  + String(format: "%.3f | %.1f | %.3f |", result.milliseconds, result.gflops, result.heuristicMilliseconds))
        }
        let location = backend.cacheDirectory.map { $0.appendingPathComponent(TuningDatabase.fileName).path } ?? "(cache off: not stored)"
        print(String(format: "tried %d configurations in %.1f s; database: %@", report.configurationsTried, report.seconds, location))
    }
}
