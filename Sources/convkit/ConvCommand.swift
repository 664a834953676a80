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

    @Option(help: "CPU algorithm: auto, direct, gemm or winograd (default auto; runs on the cpu backend).")
    var algorithm: CPUAlgorithm = .auto

    @OptionGroup var destination: RunOptions

    func validate() throws {
        if algorithm != .auto, let device = destination.device, device != .cpu {
            throw ValidationError("--algorithm applies to the cpu backend; drop --device \(device) or use --device cpu")
        }
    }

    func run() throws {
        let x = try NPYArray(contentsOf: input).tensor(path: input, role: "input (N, C, H, W)")
        let w = try NPYArray(contentsOf: weights).tensor(path: weights, role: "weights (K, C/groups, R, S)")
        let b = try bias.map { try NPYArray(contentsOf: $0).vector(path: $0) }
        let start = DispatchTime.now().uptimeNanoseconds
        if algorithm != .auto {
            let cpu = CPUBackend(algorithm: algorithm)
            let y = try cpu.convolve(x, weights: w, bias: b, descriptor: options.descriptor)
            let geometry = try options.descriptor.resolve(input: x.shape, weights: w.shape, biasCount: b?.count)
            try destination.finish(y, BackendSelection(backend: cpu, reason: "--algorithm \(algorithm) ran \(cpu.algorithmName(for: geometry))"),
                           startedAt: start)
            return
        }
        let (y, selection) = try ConvolutionDispatcher.shared.convolve(x, weights: w, bias: b, descriptor: options.descriptor,
                                                                       device: destination.device)
        try destination.finish(y, selection, startedAt: start)
    }
}
