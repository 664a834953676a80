@testable import ConvKitCPU
import CConvKitKernels
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

    @Test("back-to-back regions from several callers each run every task once, and none after it returned")
    func stayingWorkers() async {
        // Four callers race for the staying workers: one gets them, the others run on a
        // plain concurrentPerform; a helper that served a region after its caller returned
        // would add to a count that was already checked.
        let callers = 4, regions = 300, tasks = 13
        let counts = Cells(callers * tasks)
        let late = Cells(callers)
        await withTaskGroup(of: Void.self) { group in
            for caller in 0..<callers {
                group.addTask {
                    let base = caller * tasks
                    for region in 1...regions {
                        ParallelLoop(threads: 2).run(tasks) { task in
                            // Some microseconds of work, so a task a helper still runs is visible.
                            var spin = 0
                            for step in 0..<(task % 3) * 2_000 { spin &+= step }
                            counts.values[base + task] += 1 + (spin == -1 ? 1 : 0)
                        }
                        if (0..<tasks).contains(where: { counts.values[base + $0] != region }) { late.values[caller] += 1 }
                    }
                }
            }
        }
        #expect((0..<callers * tasks).allSatisfy { counts.values[$0] == regions },
                "task counts \((0..<callers * tasks).map { counts.values[$0] })")
        #expect((0..<callers).allSatisfy { late.values[$0] == 0 }, "a region returned before all its tasks ran")
    }

    @Test("a zero window declines (ParallelLoop falls back); otherwise the caller and at most the asked helpers run the body")
    func stayingWindow() {
        let off = StayingWorkers(spinNanoseconds: 0)
        #expect(!off.run(helpers: 1) {}, "a zero window must decline, so ParallelLoop falls back")
        let on = StayingWorkers(spinNanoseconds: 1_000_000)
        let runs = Cells(1)
        for _ in 0..<50 {
            #expect(on.run(helpers: 1) { ck_work_finish(runs.values) })
        }
        // 50 regions: the caller's 50 iterations, plus at most one helper's in each.
        #expect((50...100).contains(runs.values[0]), "body ran \(runs.values[0]) times in 50 regions")
    }
}

