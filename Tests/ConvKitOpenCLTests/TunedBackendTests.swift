import ConvKitCore
@testable import ConvKitOpenCL
import Foundation
import Testing
import _ConvKitTestSupport

@Suite("OpenCL backend with a tuning database")
struct TunedBackendTests {
    /// A tuning database written through the API into a temporary cache directory, with a
    /// winner per shape class that is *not* the heuristic's choice (rotating over every
    /// file that can run the whole class); the backend that loads it must pick those
    /// winners and still match the float64 reference exactly on small integers.
    @Test("a tuned backend picks the non-heuristic winners and matches the reference exactly",
          .enabled(if: TestDevice.shouldRun, TestDevice.skipReason))
    func tunedGrid() throws {
        guard requireDevice() else { return }
        let device = try TestDevice.backend().deviceInfo
        var generator = SeededGenerator(seed: 0x7E57)
        var problems: [Problem] = []
        for padding in [Padding.valid, .same, .explicit(top: 0, bottom: 2, left: 1, right: 0)] {
            for stride in [Size2D(1), Size2D(2), Size2D(height: 1, width: 2)] {
                for kernel in [Size2D(1), Size2D(3), Size2D(height: 1, width: 3), Size2D(7)] {
                    for (channels, filters, groups) in CrossCheckTests.channelLayouts + [(17, 9, 1)] {
                        let descriptor = Conv2DDescriptor(stride: stride, padding: padding, groups: groups)
                        guard let problem = try? Problem(input: TensorShape(2, channels, 9, 11), filters: filters,
                                                         kernel: kernel, descriptor: descriptor, bias: true,
                                                         generator: &generator, value: Problem.smallInteger)
                        else { continue }
                        problems.append(problem)
                    }
                }
            }
        }
        let byClass = Dictionary(grouping: problems) { ShapeClass($0.geometry) }
        var database = TuningDatabase()
        var files = Set<KernelFile>()
        for (position, shapeClass) in byClass.keys.sorted().enumerated() {
            let members = byClass[shapeClass]!
            let heuristic = KernelConfiguration.choose(for: members[0].geometry, on: device, choice: .auto)
            let options = KernelConfiguration.variants(for: device).filter { variant in
                variant.file != .pool && variant != heuristic
                    && members.allSatisfy { variant.canRun($0.geometry, on: device) }
            }
            let winner = try #require(options.isEmpty ? nil : options[position % options.count])
            files.insert(winner.file)
            database.set(.init(winner, milliseconds: 1, gflops: 1), for: shapeClass, on: device)
        }
        #expect(files.count >= 3, "the winners cover several kernel files: \(files)")
        let directory = TestDevice.scratch.appendingPathComponent("tuned-\(UInt32.random(in: 0...UInt32.max))")
        try database.store(in: directory)
        let tuned = try OpenCLBackend(kernel: .auto, cache: .directory(directory))
        #expect(tuned.tuning == database)
        for problem in problems {
            let entry = try #require(database.entry(for: ShapeClass(problem.geometry), on: device))
            let winner = try #require(entry.configuration(for: problem.geometry))
            let chosen = tuned.configuration(for: problem.geometry)
            #expect(chosen == winner, "\(chosen) is not the tuned \(winner) — \(problem)")
            #expect(chosen != KernelConfiguration.choose(for: problem.geometry, on: device, choice: .auto))
            expectExact(try problem.run(on: tuned), problem.reference().values, "tuned \(chosen) \(problem)")
        }
    }
}
