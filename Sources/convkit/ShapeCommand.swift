import ArgumentParser
import ConvKit

/// `convkit shape`: the output shape, and how the formula produced it.
struct ShapeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "shape", abstract: "Explain the output shape of a convolution step by step.")

    @Option(help: "Input shape N,C,H,W.", transform: Arguments.shape)
    var input: TensorShape

    @Option(help: "Kernel size R,S (or R for R×R).", transform: Arguments.pair)
    var kernel: Size2D

    @Option(name: .customLong("out-channels"), help: "Output channels K (number of filters).")
    var outChannels: Int

    @OptionGroup var options: ConvolutionOptions

    func run() throws {
        let descriptor = options.descriptor
        let groups = max(descriptor.groups, 1)
        let weights = TensorShape(outChannels, input.channels / groups, kernel.height, kernel.width)
        let geometry = try descriptor.resolve(input: input, weights: weights)
        print("input    \(geometry.input)  (N×C×H×W)")
        print("weights  \(geometry.filter)  (K×C/groups×R×S)")
        print("stride \(descriptor.stride), dilation \(descriptor.dilation), groups \(descriptor.groups)")
        print("effective kernel d·(k−1)+1 = \(geometry.effectiveKernel)")
        print("padding  \(descriptor.padding) → \(geometry.padding)")
        for (axis, resolved) in [("height", geometry.rows), ("width", geometry.columns)] {
            if descriptor.padding == .same || descriptor.padding == .sameLower {
                print("  \(axis) pads: \(resolved.samePaddingFormula)")
            }
            print("  \(axis): \(resolved.formula)")
        }
        print("output   \(geometry.output)  (N×K×OH×OW)")
        print("FLOPs    \(geometry.flops) (\(ConvolutionDispatcher.formatFLOPs(geometry.flops)))")
    }
}
