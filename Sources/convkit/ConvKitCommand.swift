import ArgumentParser
import ConvKit
import Foundation
import Logging

/// `convkit`: verify, benchmark, explain and run convolutions.
@main
struct ConvKitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convkit",
        abstract: "Convolution feature maps on OpenCL devices and the CPU.",
        subcommands: [ShapeCommand.self, ConvCommand.self, PoolCommand.self, VerifyCommand.self, DevicesCommand.self, BenchCommand.self]
    )

    /// Bad input of any kind ends in one line on stderr and a non-zero exit; help and
    /// `--version` keep ArgumentParser's full output.
    static func main() {
        bootstrapLogging()
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            let code = exitCode(for: error)
            if code == .success {
                exit(withError: error)
            }
            let message = (error as? ConvolutionError)?.description
                ?? (error as? NPYError)?.description
                ?? (error as? DispatchError)?.description
                ?? message(for: error)
            let line = message.split(separator: "\n").first.map(String.init) ?? message
            FileHandle.standardError.write(Data("convkit: error: \(line)\n".utf8))
            Foundation.exit(code == .validationFailure ? 2 : 1)
        }
    }

    /// Logs go to stderr so they never mix with results on stdout; `CONVKIT_LOG_LEVEL`
    /// (`trace` … `critical`, default `warning`) shows selections, builds and cache hits.
    static func bootstrapLogging() {
        let level = ProcessInfo.processInfo.environment["CONVKIT_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .warning
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
    }
}
