import ConvKitCore
@testable import ConvKitOpenCL
import Dispatch
import Foundation
import Testing
import _ConvKitTestSupport

@Suite("OpenCL under concurrent callers")
struct ConcurrencyTests {
    @Test("many threads sharing one backend all get exact results",
          .enabled(if: TestDevice.shouldRun, TestDevice.skipReason))
    func manyThreads() throws {
        guard requireDevice() else { return }
        let backend = try TestDevice.backend()
        var generator = SeededGenerator(seed: 7)
        let problems = try (0..<6).map { index in
            try Problem(input: TensorShape(1 + index % 2, 4, 9 + index, 11), filters: 8, kernel: Size2D(1 + 2 * (index % 3)),
                        descriptor: Conv2DDescriptor(stride: Size2D(1 + index % 2), padding: .same, groups: 1 + index % 2),
                        bias: index % 2 == 0, generator: &generator, value: Problem.smallInteger)
        }
        let expected = problems.map { $0.reference().values }
        let failures = Failures()
        DispatchQueue.concurrentPerform(iterations: 48) { iteration in
            let index = iteration % problems.count
            do {
                let output = try problems[index].run(on: backend)
                if output.indices.contains(where: { Double(output[$0]) != expected[index][$0] }) {
                    failures.add("iteration \(iteration): wrong result for \(problems[index])")
                }
            } catch {
                failures.add("iteration \(iteration): \(error)")
            }
        }
        #expect(failures.messages.isEmpty, "\(failures.messages)")
    }
}

/// Thread-safe list of failure messages (Swift Testing's `Issue.record` is only used from
/// the test's own thread).
private final class Failures: @unchecked Sendable {
    private let lock = NSLock()
    private var list: [String] = []
    func add(_ message: String) { lock.withLock { list.append(message) } }
    var messages: [String] { lock.withLock { list } }
}
