import ConvKit
import Foundation
import Testing
import _ConvKitTestSupport

/// The cross-check matrix: every backend the dispatcher found, against the reference.
@Suite("Cross-check matrix")
struct CrossCheckTests {
    static let long = ProcessInfo.processInfo.environment["CONVKIT_LONG_TESTS"] == "1"
    static let cases = CrossCheckGrid.cases(variants: long ? 10 : 1)

    /// Every backend under test, by name: the dispatcher's (minus the oracle itself).
    static let backends: [String: any ConvolutionBackend] = Dictionary(
        uniqueKeysWithValues: ConvolutionDispatcher.shared.backends.filter { $0.name != "reference" }.map { ($0.name, $0) })

    @Test("an OpenCL device is present (required when CI=true)")
    func openCLPresent() {
        let found = !ConvolutionDispatcher.shared.openCLBackends.isEmpty
        let why = ConvolutionDispatcher.shared.unavailable.map(\.description).joined(separator: "; ")
        if ProcessInfo.processInfo.environment["CI"] == "true" {
            #expect(found, "CI=true and no OpenCL device: \(why)")
        } else if !found {
            print("warning: no OpenCL device, the OpenCL backend is NOT cross-checked: \(why)")
        }
    }

    @Test("small-integer data: every backend equals the reference bit for bit", arguments: backends.keys.sorted())
    func exact(_ name: String) throws {
        let backend = try #require(Self.backends[name])
        let summary = CrossCheck.run(Self.cases, on: [backend], data: .smallIntegers)[0]
        print("cross-check \(name): \(summary.cases) small-integer cases, \(summary.exactCases) exact")
        #expect(summary.cases == Self.cases.count)
        for failure in summary.failures.prefix(10) {
            Issue.record("\(name) \(failure.case): \(failure.reason)")
        }
    }

    @Test("random floats: every backend within its τ bound", arguments: backends.keys.sorted())
    func bounded(_ name: String) throws {
        let backend = try #require(Self.backends[name])
        let sample = Self.cases.enumerated().filter { $0.offset % 4 == 0 }.map(\.element)
        let summary = CrossCheck.run(sample, on: [backend], data: .randomFloats)[0]
        print("cross-check \(name): \(summary.cases) random-float cases, worst ratio \(summary.worstRatio)")
        for failure in summary.failures.prefix(10) {
            Issue.record("\(name) \(failure.case): \(failure.reason)")
        }
    }
}
