import ArgumentParser
import ConvKit

/// `convkit devices`: every backend, what it runs on, and what `auto` picks.
struct DevicesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "devices", abstract: "List the backends and devices ConvKit found, and the automatic choice.")

    func run() throws {
        let dispatcher = ConvolutionDispatcher.shared
        for backend in dispatcher.backends {
            let device = backend.device
            var line = "\(backend.name.padding(toLength: 10, withPad: " ", startingAt: 0)) \(device.kind)  \(device.name)"
            line += " — \(device.vendor), \(device.computeUnits) compute units"
            if let memory = device.memoryBytes { line += ", \(memory >> 20) MiB" }
            if let version = device.openCLVersion { line += ", \(version)" }
            print(line)
        }
        for missing in dispatcher.unavailable {
            print("\(missing.name.padding(toLength: 10, withPad: " ", startingAt: 0)) unavailable — \(missing.reason)")
        }
        let threshold = dispatcher.gpuThresholdFLOPs
        print("auto, problems < \(ConvolutionDispatcher.formatFLOPs(threshold)): \(dispatcher.automaticChoice(flops: 0))")
        print("auto, problems ≥ \(ConvolutionDispatcher.formatFLOPs(threshold)): \(dispatcher.automaticChoice(flops: threshold))")
    }
}
