import ArgumentParser
import ConvKit
import Foundation

/// The shapes `bench` and `tune` work on: descriptors, a file of them, a built-in suite.
struct ProblemSelection: ParsableArguments {
    @Option(help: "A benchdnn descriptor, e.g. mb1ic64ih56oc64oh56kh3ph1 (repeatable).")
    var shape: [String] = []

    @Option(help: "A file of benchdnn descriptors, one per line; '#' starts a comment.")
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
            let text: String
            do { text = try String(contentsOfFile: shapes, encoding: .utf8) } catch {
                throw CLIError.unreadable(path: shapes, reason: error.localizedDescription)
            }
            for line in text.split(whereSeparator: \.isNewline) {
                let body = line.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
                if !body.allSatisfy(\.isWhitespace) { problems.append(try BenchDNNProblem(parsing: String(body))) }
            }
        }
        if let suite { problems += suite.layers.map { $0.problem } }
        return problems
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
