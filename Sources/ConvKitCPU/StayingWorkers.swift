import CConvKitKernels
import Dispatch
import Foundation

/// Worker iterations that stay awake for a short window after a region, so that
/// back-to-back calls (a network's layers, a benchmark loop) do not wake a sleeping
/// thread each time.
///
/// Waking an idle vCPU goes through the host and measured 30–300 µs on this VM, a large
/// part of a 1 ms layer; onnxruntime's and OpenMP's pools spin for the same reason. The
/// helpers are `DispatchQueue.concurrentPerform` iterations started from a background
/// queue; each one serves regions until none has come for ``spinNanoseconds``, then
/// returns its thread to Dispatch. `CONVKIT_SPIN_US` sets the window (0: never stay,
/// every region is a fresh `concurrentPerform`).
///
/// One region at a time: a caller that finds the workers busy (another thread's call)
/// runs its region on a plain `concurrentPerform` instead.
final class StayingWorkers: @unchecked Sendable {
    static let shared = StayingWorkers(spinNanoseconds: StayingWorkers.windowFromEnvironment())

    /// How long an idle helper waits for the next region before it leaves.
    let spinNanoseconds: Int64

    // Each cell on its own cache line: a helper polling `generation` is not disturbed
    // by the owner's joins and leaves.
    private let cells: UnsafeMutablePointer<Int>
    private var owner: UnsafeMutablePointer<Int> { cells }
    private var generation: UnsafeMutablePointer<Int> { cells + 8 }
    private var open: UnsafeMutablePointer<Int> { cells + 16 }
    private var inside: UnsafeMutablePointer<Int> { cells + 24 }
    private var awake: UnsafeMutablePointer<Int> { cells + 32 }
    private var seats: UnsafeMutablePointer<Int> { cells + 40 }
    /// The open region's iteration, written only while `open == 0` and no helper is inside.
    private var iteration: (@Sendable () -> Void)?

    init(spinNanoseconds: Int64) {
        self.spinNanoseconds = spinNanoseconds
        cells = .allocate(capacity: 48)
        cells.initialize(repeating: 0, count: 48)
    }

    static func windowFromEnvironment() -> Int64 {
        guard let text = ProcessInfo.processInfo.environment["CONVKIT_SPIN_US"], let micros = Int64(text),
              micros >= 0 else { return 1_000_000 }
        return micros * 1_000
    }

    /// Runs `body` on the calling thread and on up to `helpers` staying workers; false
    /// (nothing run) when the workers serve another caller or staying is switched off.
    func run(helpers: Int, _ body: @Sendable () -> Void) -> Bool {
        guard spinNanoseconds > 0, helpers > 0, ck_atomic_exchange_if(owner, 0, 1) != 0 else { return false }
        withoutActuallyEscaping(body) { body in
            iteration = body
            ck_atomic_store(seats, helpers)
            ck_atomic_add(generation, 1)
            ck_atomic_store(open, 1)
            let missing = helpers - ck_atomic_load(awake)
            if missing > 0 { launch(missing) }
            body()
            // Close, then wait until no helper is inside: after that none can read
            // `iteration`, because a helper checks `open` only after announcing itself.
            ck_atomic_store(open, 0)
            ck_spin_until_zero(inside)
            iteration = nil
        }
        ck_atomic_store(owner, 0)
        return true
    }

    private func launch(_ count: Int) {
        ck_atomic_add(awake, count)
        let seen = ck_atomic_load(generation) - 1
        DispatchQueue.global(qos: .userInitiated).async {
            DispatchQueue.concurrentPerform(iterations: count) { _ in self.serve(after: seen) }
        }
    }

    /// Serves every region newer than `seen` until the window passes without one.
    private func serve(after seen: Int) {
        var seen = seen
        while true {
            if ck_atomic_load(generation) == seen
                && ck_spin_for_change(generation, seen, spinNanoseconds) == 0 {
                ck_atomic_add(awake, -1)
                // A region posted while leaving counted this helper; it runs without it.
                return
            }
            ck_atomic_add(inside, 1)
            seen = ck_atomic_load(generation)
            if ck_atomic_load(open) != 0 && ck_atomic_add(seats, -1) > 0, let iteration { iteration() }
            ck_atomic_add(inside, -1)
        }
    }
}
