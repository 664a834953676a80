import Foundation
import ArgumentParser
import ConvKit
import _ConvKitTestSupport

/// `convkit verify`: the cross-check grid on every backend, against the reference.
struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify", abstract: "Cross-check every backend against the float64 reference on the built-in grid.")

    @Option(help: "Check only this device (cpu, opencl, opencl:N, ...); default: every backend found.",
            transform: Arguments.device)
    var device: DeviceRequest?

    @Flag(help: "Run the long grid (ten times the cases).")
    var long = false

    func run() throws {
        let dispatcher = ConvolutionDispatcher.shared
        let backends: [any ConvolutionBackend] = try device.map { [try dispatcher.select($0).backend] }
            ?? dispatcher.backends.filter { $0.name != "reference" }
        let cases = CrossCheckGrid.cases(variants: long ? 10 : 1)
        for missing in dispatcher.unavailable where device == nil {
            print("skipped \(missing.name): \(missing.reason)")
        }
        print("backend     data            cases   exact   worst ratio   τ bound   result")
        var failed = false
        for kind in [CrossCheckCase.DataKind.smallIntegers, .randomFloats] {
            // Bit-exactness is promised by the exact algorithms only: the CPU's automatic
            // choice may pick Winograd, which random floats hold to its own τ instead.
            let checked: [(label: String, backend: any ConvolutionBackend)] = backends.map { backend in
                kind == .smallIntegers && backend is CPUBackend ? (backend.name, CPUBackend(allowInexact: false)) : (backend.name, backend)
            }
            let summaries = CrossCheck.run(cases, on: checked, data: kind)
            for summary in summaries {
                let label = kind == .smallIntegers ? "small integers" : "random floats "
                let bound = kind == .smallIntegers ? "exact    " : "per algo."
                print("\(summary.backend.padding(toLength: 11, withPad: " ", startingAt: 0)) \(label)  "
                      + "\(pad(summary.cases, 6))  \(pad(summary.exactCases, 6))  \(pad(summary.worstRatio, 12))  "
                      + "\(bound) \(summary.passed ? "pass" : "FAIL (\(summary.failures.count))")")
                for failure in summary.failures.prefix(5) {
                    print("    \(failure.case): \(failure.reason)")
                }
                failed = failed || !summary.passed
            }
        }
        if failed { throw ExitCode.failure }
    }

    private func pad(_ value: Int, _ width: Int) -> String {
        let text = String(value)
        return String(repeating: " ", count: max(0, width - text.count)) + text
    }

    private func pad(_ value: Double, _ width: Int) -> String {
        let text = value == 0 ? "0" : String(format: "%.3g", value)
        return String(repeating: " ", count: max(0, width - text.count)) + text
    }
}
