import ArgumentParser
import ConvKit
import Foundation

/// The shapes `bench` and `tune` work on: descriptors, a file of them, a built-in suite.
struct ProblemSelection: ParsableArguments {
    @Option(help: "A benchdnn descriptor, e.g. mb1ic64ih56oc64oh56kh3ph1 (repeatable).")
    var shape: [String] = []

    @Option(help: "A file of benchdnn descriptors, one per line; '#' starts a comment; '-' reads standard input.")
    var shapes: String?

    @Option(help: "A built-in layer set: resnet50, vgg16, mobilenetv2, tiny.")
    var suite: LayerSuite?

    /// Every selected problem, in the order given: `--shape`s, the file, the suite.
    ///
    /// - Throws: ``CLIError/unreadable(path:reason:)`` for a missing file,
    ///   ``ConvolutionError`` for a malformed descriptor (naming it).
    func problems() throws -> [BenchDNNProblem] {
        var problems = try shape.map(BenchDNNProblem.init(parsing:))
        if let shapes {
            let text = try Self.readText(shapes)
            for line in text.split(whereSeparator: \.isNewline) {
                let body = line.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
                if !body.allSatisfy(\.isWhitespace) { problems.append(try BenchDNNProblem(parsing: String(body))) }
            }
        }
        if let suite { problems += suite.layers.map { $0.problem } }
        return problems
    }

    /// The UTF-8 text of `path`, or of standard input for `-`. Read through a file handle,
    /// so pipes and process substitutions work (`String(contentsOfFile:)` refuses them).
    static func readText(_ path: String) throws -> String {
        let data: Data?
        if path == "-" {
            data = try? FileHandle.standardInput.readToEnd() ?? Data()
        } else if let handle = FileHandle(forReadingAtPath: path) {
            defer { try? handle.close() }
            data = try? handle.readToEnd() ?? Data()
        } else {
            let reason = FileManager.default.fileExists(atPath: path) ? "permission denied" : "no such file"
            throw CLIError.unreadable(path: path, reason: reason)
        }
        guard let data else { throw CLIError.unreadable(path: path, reason: "read failed") }
        guard let text = String(data: data, encoding: .utf8) else {
            throw CLIError.unreadable(path: path, reason: "not UTF-8 text")
        }
        return text
    }
}

/// Failures of the CLI's own files (shape lists, JSON output), one line each.
enum CLIError: Error, CustomStringConvertible {
    case unreadable(path: String, reason: String)
    case unwritable(path: String, reason: String)

    var description: String {
        switch self {
        case let .unreadable(path, reason): "\(path): cannot read file: \(reason)"
        case let .unwritable(path, reason): "\(path): cannot write file: \(reason)"
        }
    }
}

extension LayerSuite: ExpressibleByArgument {}
extension CPUAlgorithm: ExpressibleByArgument {}
