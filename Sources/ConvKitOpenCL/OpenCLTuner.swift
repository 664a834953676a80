import COpenCL
import ConvKitCore
import Foundation

/// What one ``OpenCLBackend/tune(_:budget:progress:)`` run did.
public struct TuningReport: Sendable {
    /// One shape class's outcome.
    public struct ClassResult: Sendable {
        public var shapeClass: ShapeClass
        /// Shapes of the class that were timed.
        public var shapes: Int
        /// Configurations timed for the class.
        public var tried: Int
        /// The fastest configuration (total kernel time over the class's shapes).
        public var winner: KernelConfiguration
        public var milliseconds: Double
        public var gflops: Double
        /// The heuristic's time for comparison (its configuration is always timed first).
        public var heuristicMilliseconds: Double
    }

    public var classes: [ClassResult]
    /// Configurations timed in all (summed over classes).
    public var configurationsTried: Int
    /// Wall-clock seconds, builds included.
    public var seconds: Double
    /// The updated database (already stored when the backend has a cache directory).
    public var database: TuningDatabase
}

extension OpenCLBackend {
    /// Times a bounded set of configurations for every ``ShapeClass`` among `geometries`
    /// and records the winners in the tuning database of ``cacheDirectory`` (entries of
    /// other devices and classes are kept).
    ///
    /// Per class, the heuristic's configuration is timed first (so every class gets an
    /// entry at least as good as the heuristic), then the other igemm candidates of the
    /// device kind (and the 1×1 GEMM and depthwise ones where they apply), the direct and the tiled kernel, in that order, while the budget lasts:
    /// each class gets an equal share of the budget left when it starts, and no new
    /// configuration starts past that share (builds count; the heuristic's configuration
    /// of every class is always timed, so a tiny budget still writes every class). Each
    /// configuration runs every shape of the class on device-resident buffers: one warm-up
    /// launch, then the best of three, kernel time only.
    public func tune(_ geometries: [ConvolutionGeometry], budget: Double,
                     progress: (String) -> Void = { _ in }) throws -> TuningReport {
        let start = ContinuousClock.now
        func elapsed() -> Double {
            let duration = ContinuousClock.now - start
            return Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
        }
        var database = cacheDirectory.flatMap { TuningDatabase.load(from: $0) } ?? TuningDatabase()
        let byClass = Dictionary(grouping: geometries, by: ShapeClass.init)
        var results: [TuningReport.ClassResult] = []
        var tried = 0
        let ordered = byClass.keys.sorted()
        for (position, shapeClass) in ordered.enumerated() {
            // A fair share of what is left, so early classes cannot starve later ones.
            let deadline = elapsed() + max(0, budget - elapsed()) / Double(ordered.count - position)
            let shapes = byClass[shapeClass]!
            let representative = shapes.max { $0.flops < $1.flops }!
            var candidates = KernelConfiguration.heuristic(for: representative, on: deviceInfo)
            candidates += (KernelConfiguration.igemmCandidates(for: deviceInfo)
                + KernelConfiguration.gemm1x1Candidates(for: deviceInfo)
                + KernelConfiguration.depthwiseCandidates(for: deviceInfo)).filter { !candidates.contains($0) }
            candidates += [KernelConfiguration.choose(for: representative, on: deviceInfo, choice: .direct),
                           KernelConfiguration.choose(for: representative, on: deviceInfo, choice: .tiled)]
            var seen = Set<KernelConfiguration>()
            candidates = candidates.filter { candidate in
                seen.insert(candidate).inserted && shapes.allSatisfy { candidate.canRun($0, on: deviceInfo) }
            }
            var best: (KernelConfiguration, Double)?
            var heuristicTime = 0.0
            var classTried = 0
            for candidate in candidates {
                if classTried > 0, elapsed() >= deadline { break }
                var backend = self
                backend.forcedConfiguration = candidate
                var total = 0.0
                for geometry in shapes { total += try backend.kernelMilliseconds(geometry) }
                classTried += 1
                if classTried == 1 { heuristicTime = total }
                progress("  \(shapeClass): \(candidate.file) \(candidate.buildOptions) — \(String(format: "%.3f", total)) ms")
                if best == nil || total < best!.1 { best = (candidate, total) }
            }
            tried += classTried
            let (winner, milliseconds) = best!
            let flops = shapes.reduce(0) { $0 + $1.flops }
            let gflops = Double(flops) / (milliseconds * 1e6)
            database.set(.init(winner, milliseconds: milliseconds, gflops: gflops), for: shapeClass, on: deviceInfo)
            results.append(.init(shapeClass: shapeClass, shapes: shapes.count, tried: classTried, winner: winner,
                                 milliseconds: milliseconds, gflops: gflops, heuristicMilliseconds: heuristicTime))
        }
        if let cacheDirectory { try database.store(in: cacheDirectory) }
        return TuningReport(classes: results, configurationsTried: tried, seconds: elapsed(), database: database)
    }

    /// The kernel time of one convolution with the current configuration, on device
    /// buffers: a warm-up launch (which also builds), then the best of three.
    func kernelMilliseconds(_ geometry: ConvolutionGeometry) throws -> Double {
        var objects = OpenCLObjects()
        defer { objects.release() }
        let queue = try objects.queue(on: context)
        func filled(_ count: Int) throws -> cl_mem {
            let values = (0..<count).map { Float(($0 * 7919) % 17) / 17 - 0.5 }
            return try values.withUnsafeBytes {
                try objects.upload($0, to: context.context, as: .parameterUpload, counter: OpenCLTransferCounter())
            }
        }
        let input = try filled(geometry.input.elementCount)
        let weights = try filled(geometry.filter.elementCount)
        let output = try objects.buffer(context.context, bytes: geometry.output.elementCount * MemoryLayout<Float>.size)
        let launch = try convolutionLaunch(geometry, input: input, weights: weights, bias: nil, output: output,
                                           objects: &objects)
        try launch.enqueue(on: queue)
        try clCheck(clFinish(queue), "clFinish")
        var best = Double.infinity
        for _ in 0..<3 {
            let start = ContinuousClock.now
            try launch.enqueue(on: queue)
            try clCheck(clFinish(queue), "clFinish")
            let duration = ContinuousClock.now - start
            best = min(best, Double(duration.components.seconds) * 1e3 + Double(duration.components.attoseconds) / 1e15)
        }
        return best
    }
}
