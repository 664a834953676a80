import ArgumentParser
import ConvKit
import Foundation

/// `convkit conv`: convolve `.npy` files.
struct ConvCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "conv", abstract: "Convolve an input .npy (N,C,H,W) with weights .npy (K,C/groups,R,S).")

    @Option(help: "Input tensor .npy, shape (N, C, H, W), float32 or float64.")
    var input: String

    @Option(help: "Weights .npy, shape (K, C/groups, R, S).")
    var weights: String

    @Option(help: "Bias .npy, shape (K,).")
    var bias: String?

    @OptionGroup var options: ConvolutionOptions

    @Option(help: "auto, cpu, reference, opencl, opencl:N or opencl:NAME.", transform: Arguments.device)
    var device: DeviceRequest?

    @Flag(help: "Print which backend ran and why.")
    var explain = false

    @Option(help: "Where to write the output .npy (written atomically).")
    var output: String

    func run() throws {
        let x = try NPYArray(contentsOf: input).tensor(path: input, role: "input (N, C, H, W)")
        let w = try NPYArray(contentsOf: weights).tensor(path: weights, role: "weights (K, C/groups, R, S)")
        let b = try bias.map { try NPYArray(contentsOf: $0).vector(path: $0) }
        let dispatcher = ConvolutionDispatcher.shared
        let start = DispatchTime.now().uptimeNanoseconds
        let (y, selection) = try dispatcher.convolve(x, weights: w, bias: b, descriptor: options.descriptor, device: device)
        let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
        try NPYArray(y).write(to: output)
        if explain {
            print("device: \(selection)")
        }
        print("wrote \(output): \(y.shape) on \(selection.backend.name) in \(String(format: "%.3f", elapsed)) ms")
    }
}
