import ConvKit
import Foundation
import Testing
import _ConvKitTestSupport

/// Seeded random problems: valid ones must agree everywhere, invalid ones must fail the
/// same way everywhere.
@Suite("Random problems")
struct PropertyTests {
    static let count = ProcessInfo.processInfo.environment["CONVKIT_LONG_TESTS"] == "1" ? 4_000 : 400
    static let backends = ConvolutionDispatcher.shared.backends

    @Test("random valid problems: every backend equals the reference on small integers")
    func valid() {
        let cases = (0..<UInt64(Self.count)).map { RandomProblems.valid(seed: 1_000 + $0) }
        let summaries = CrossCheck.run(cases, on: Self.backends.filter { $0.name != "reference" }, data: .smallIntegers)
        for summary in summaries {
            print("random valid problems \(summary.backend): \(summary.cases) cases, \(summary.exactCases) exact")
            for failure in summary.failures.prefix(5) { Issue.record("\(summary.backend) \(failure.case): \(failure.reason)") }
        }
    }

    @Test("random invalid problems: every backend throws the same ConvolutionError")
    func invalid() throws {
        var checked = 0
        for seed in 0..<UInt64(Self.count) {
            let (broken, biasCount) = RandomProblems.invalid(seed: 5_000 + seed)
            let expected: ConvolutionError
            do {
                _ = try broken.descriptor.resolve(input: broken.input, weights: broken.weights, biasCount: biasCount)
                Issue.record("seed \(5_000 + seed): \(broken) resolved but a rule was broken")
                continue
            } catch let error as ConvolutionError {
                expected = error
            }
            let x = try Tensor(zeros: broken.input)
            let w = try Tensor(zeros: broken.weights)
            let bias = biasCount.map { [Float](repeating: 1, count: $0) }
            for backend in Self.backends {
                #expect(throws: expected, "seed \(5_000 + seed) on \(backend.name)") {
                    try backend.convolve(x, weights: w, bias: bias, descriptor: broken.descriptor)
                }
            }
            #expect(throws: expected) {
                try ConvolutionDispatcher.shared.convolve(x, weights: w, bias: bias, descriptor: broken.descriptor)
            }
            checked += 1
        }
        print("random invalid problems: \(checked) cases × \(Self.backends.count) backends")
    }
}
