@testable import ConvKitCPU
import Foundation
import Testing

/// The task claiming and the phase order of ``ParallelLoop``.
@Suite struct ParallelLoopTests {
    /// A buffer tasks write at disjoint indices; read after the region ends.
    final class Cells: @unchecked Sendable {
        let values: UnsafeMutablePointer<Int>
        let count: Int
        init(_ count: Int) {
            self.count = count
            values = .allocate(capacity: count)
            values.initialize(repeating: 0, count: count)
        }
        deinit { values.deallocate() }
    }

    @Test("every task runs exactly once, and a phase starts only after the one before it", arguments: [1, 2, 3, 8])
    func phases(threads: Int) {
        let first = 37, second = 29
        let marks = Cells(first), seen = Cells(second)
        ParallelLoop(threads: threads).run(phases: [first, second]) { phase, task in
            if phase == 0 {
                // Uneven work, so a fast thread reaches phase 1 while others are in phase 0.
                var spin = 0
                for step in 0..<(task % 5) * 20_000 { spin &+= step }
                marks.values[task] += 1 + (spin == -1 ? 1 : 0)
            } else {
                seen.values[task] += (0..<first).reduce(0) { $0 + marks.values[$1] }
            }
        }
        #expect((0..<first).allSatisfy { marks.values[$0] == 1 }, "a phase-0 task ran twice or not at all")
        #expect((0..<second).allSatisfy { seen.values[$0] == first },
                "a phase-1 task started before phase 0 finished: \((0..<second).map { seen.values[$0] })")
    }

    @Test("a region with no tasks, or phases of zero tasks, returns")
    func emptyPhases() {
        let cells = Cells(4)
        ParallelLoop(threads: 2).run(phases: [0, 4, 0]) { _, task in cells.values[task] += 1 }
        ParallelLoop(threads: 2).run(0) { _ in Issue.record("ran a task of an empty region") }
        #expect((0..<4).allSatisfy { cells.values[$0] == 1 })
    }
}
