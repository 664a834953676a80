import CConvKitKernels
import Dispatch

/// Runs independent tasks on Dispatch's shared worker pool, or inline.
///
/// One region runs one iteration per thread, on ``StayingWorkers`` (helpers kept awake
/// between back-to-back regions) or, when those serve another caller, on a fresh
/// `DispatchQueue.concurrentPerform`. Each iteration claims task indices from a shared
/// counter until none are left, so the
/// calling thread starts at once and a worker that the system wakes late (30–300 µs on
/// a VM, measured here) only joins in, never holds the others back. Phases run in one
/// region: a task of phase `p` starts once every task of the phases before it has
/// finished, which saves a fork and a join per extra phase. The iterations end with a
/// spinning join, so the caller is not put to sleep and woken again for the last task.
///
/// No threads are created per call and nothing is locked: every task writes a disjoint
/// part of the output.
struct ParallelLoop: Sendable {
    /// The most tasks run at once.
    let threads: Int

    /// Calls `body` once for each task in `0..<count`, possibly concurrently.
    func run(_ count: Int, _ body: @Sendable (Int) -> Void) {
        // Inline without building the phase list: the tiny-problem path allocates nothing.
        if threads <= 1 || count <= 1 {
            for task in 0..<count { body(task) }
            return
        }
        run(phases: [count]) { _, task in body(task) }
    }

    /// Calls `body(phase, task)` for each task of each phase; phase `p` has
    /// `counts[p]` tasks and starts when every earlier phase is done.
    ///
    /// With one thread or one task everything runs in order on the calling thread, so
    /// small problems pay no wake-up.
    func run(phases counts: [Int], _ body: @Sendable (Int, Int) -> Void) {
        let total = counts.reduce(0, +)
        if threads <= 1 || total <= 1 {
            for (phase, count) in counts.enumerated() {
                for task in 0..<count { body(phase, task) }
            }
            return
        }
        // ends[p]: one past phase p's last task index; phase p starts at ends[p - 1].
        var running = 0
        let ends = counts.map { count in
            running += count
            return running
        }
        let state = WorkCounters()
        defer { state.deallocate() }
        @Sendable func iteration() {
            var phase = 0
            while true {
                let index = ck_work_claim(state.next)
                if index >= total { break }
                while index >= ends[phase] { phase += 1 }
                let start = phase > 0 ? ends[phase - 1] : 0
                if phase > 0 { ck_work_wait(state.finished, start) }
                body(phase, index - start)
                ck_work_finish(state.finished)
            }
            ck_work_wait(state.finished, total)
        }
        let participants = min(threads, total)
        if !StayingWorkers.shared.run(helpers: participants - 1, iteration) {
            DispatchQueue.concurrentPerform(iterations: participants) { _ in iteration() }
        }
    }

}

/// The claim and finish counters of one parallel region, shared by its iterations.
private struct WorkCounters: @unchecked Sendable {
    let next: UnsafeMutablePointer<Int>
    let finished: UnsafeMutablePointer<Int>
    private let storage: UnsafeMutableRawPointer

    init() {
        // Claims and finishes on separate cache lines: one thread's claim does not
        // invalidate the line a waiting thread spins on.
        storage = .allocate(byteCount: 128, alignment: 64)
        next = storage.initializeMemory(as: Int.self, repeating: 0, count: 16)
        finished = next + 8
    }

    func deallocate() { storage.deallocate() }
}
