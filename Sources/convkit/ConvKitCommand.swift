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
        subcommands: [ShapeCommand.self, ConvCommand.self, PoolCommand.self, VerifyCommand.self, DevicesCommand.self, BenchCommand.self, TuneCommand.self]
    )

    /// Bad input of any kind ends in one line on stderr and a non-zero exit; a device
    /// failure in strict mode prints its whole message (an OpenCL build log); help keeps
    /// ArgumentParser's full output.
    static func main() {
        bootstrapLogging()
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch let status as ExitCode {
            Foundation.exit(status.rawValue)
        } catch {
            let code = exitCode(for: error)
            if code == .success {
                exit(withError: error)
            }
            // Caller mistakes get one line; a device failure keeps its build log, which names
            // the kernel file and line.
            let userMessage = (error as? ConvolutionError)?.description ?? (error as? NPYError)?.description
                ?? (error as? CLIError)?.description
            let message = userMessage ?? (error as? DispatchError)?.description ?? message(for: error)
            let text = userMessage != nil || code == .validationFailure
                ? (message.split(separator: "\n").first.map(String.init) ?? message) : message
            FileHandle.standardError.write(Data("convkit: error: \(text)\n".utf8))
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
