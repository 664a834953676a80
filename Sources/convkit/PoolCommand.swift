import ArgumentParser
import ConvKit
import Foundation

/// `convkit pool`: max or average pooling of a `.npy` tensor.
struct PoolCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pool", abstract: "Max or average pooling of an input .npy (N,C,H,W).")

    @Option(help: "Input tensor .npy, shape (N, C, H, W).")
    var input: String

    @Option(help: "max or average.")
    var mode: PoolingMode

    @Option(help: "Window H[,W]; omit with --global.", transform: Arguments.pair)
    var kernel: Size2D?

    @Option(help: "Stride H[,W] (default: the window).", transform: Arguments.pair)
    var stride: Size2D?

    @Option(help: "Padding: valid (default), same, same-lower, p, ph,pw or top,bottom,left,right.",
            transform: Arguments.padding)
    var padding = Padding.valid

    @Option(help: "Dilation H[,W] (default 1).", transform: Arguments.pair)
    var dilation = Size2D(1)

    @Flag(name: .customLong("ceil-mode"), help: "Round the output size up (the last window may overhang).")
    var ceilMode = false

    @Flag(name: .customLong("count-include-pad"), help: "Average: divide by cells inside the padded input.")
    var countIncludePad = false

    @Flag(help: "Pool each whole map to 1×1 (globalMax / globalAverage).")
    var global = false

    @OptionGroup var destination: RunOptions

    func validate() throws {
        if global, kernel != nil { throw ValidationError("--global takes no --kernel") }
        if !global, kernel == nil { throw ValidationError("--kernel is required unless --global is given") }
    }

    func run() throws {
        let x = try NPYArray(contentsOf: input).tensor(path: input, role: "input (N, C, H, W)")
        var descriptor = Pool2DDescriptor.global(mode)
        if let kernel {
            descriptor = Pool2DDescriptor(mode: mode, window: kernel, stride: stride, dilation: dilation, padding: padding,
                                          ceilMode: ceilMode, countIncludePad: countIncludePad)
        } else {
            descriptor.countIncludePad = countIncludePad
        }
        let start = DispatchTime.now().uptimeNanoseconds
        let (y, selection) = try ConvolutionDispatcher.shared.pool(x, descriptor: descriptor, device: destination.device)
        try destination.finish(y, selection, startedAt: start)
    }
}

extension PoolingMode: ExpressibleByArgument {}
