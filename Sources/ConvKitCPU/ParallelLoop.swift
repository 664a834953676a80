import Foundation

/// Runs independent tasks on Dispatch's shared worker pool, or inline.
///
/// No threads are created per call and nothing is locked: every task writes a disjoint
/// part of the output.
struct ParallelLoop: Sendable {
    /// The most tasks run at once.
    let threads: Int

    /// Calls `body` once for each task in `0..<count`, possibly concurrently.
    ///
    /// With one thread or one task everything runs on the calling thread, so small
    /// problems pay no wake-up. With `threads` below the core count, `threads` workers
    /// take tasks round-robin so the caller's limit holds.
    func run(_ count: Int, _ body: @Sendable (Int) -> Void) {
        if threads <= 1 || count <= 1 {
            for task in 0..<count { body(task) }
            return
        }
        if threads >= ParallelLoop.cores {
            DispatchQueue.concurrentPerform(iterations: count, execute: body)
            return
        }
        let workers = min(threads, count)
        DispatchQueue.concurrentPerform(iterations: workers) { worker in
            for task in stride(from: worker, to: count, by: workers) { body(task) }
        }
    }

    /// The cores Dispatch spreads work over.
    static let cores = max(1, ProcessInfo.processInfo.activeProcessorCount)
}

