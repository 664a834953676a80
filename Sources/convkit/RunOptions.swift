import ArgumentParser
import ConvKit
import Foundation

/// Where `conv` and `pool` run and where their result goes.
struct RunOptions: ParsableArguments {
    @Option(help: "auto, cpu, reference, opencl, opencl:N or opencl:NAME.", transform: Arguments.device)
    var device: DeviceRequest?

    @Flag(help: "Print which backend ran and why.")
    var explain = false

    @Option(help: "Where to write the output .npy (written atomically).")
    var output: String

    /// Writes `result` to ``output`` and reports where it ran.
    func finish(_ result: Tensor, _ selection: BackendSelection, startedAt start: UInt64) throws {
        let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
        try NPYArray(result).write(to: output)
        if explain { print("device: \(selection)") }
        print("wrote \(output): \(result.shape) on \(selection.backend.name) in \(String(format: "%.3f", elapsed)) ms")
    }
}
