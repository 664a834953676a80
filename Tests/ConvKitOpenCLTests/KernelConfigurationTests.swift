import ConvKitCore
@testable import ConvKitOpenCL
import Foundation
import Testing

@Suite("Kernel configuration: defines, launch sizes and choice")
struct KernelConfigurationTests {
    /// A made-up device, so the choice rules are tested without OpenCL.
    static func device(localMemory: UInt64 = 65_536, maxWorkGroup: Int = 1024) -> OpenCLDeviceInfo {
        OpenCLDeviceInfo(index: 0, name: "test", vendor: "test", kind: .gpu, openCLVersion: "OpenCL 1.2",
                         driverVersion: "1", platformName: "test", platformVersion: "OpenCL 1.2",
                         computeUnits: 8, maxWorkGroupSize: maxWorkGroup, maxWorkItemSizes: [1024, 1024, 64],
                         localMemoryBytes: localMemory, globalMemoryBytes: 1 << 30, maxAllocationBytes: 1 << 28,
                         preferredFloatVectorWidth: 4, extensions: ["cl_khr_fp16"])
    }

    static func geometry(_ input: TensorShape, filters: Int, kernel: Size2D,
                         _ descriptor: Conv2DDescriptor = Conv2DDescriptor()) throws -> ConvolutionGeometry {
        try descriptor.resolve(input: input, weights: TensorShape(filters, input.channels / descriptor.groups,
                                                                  kernel.height, kernel.width))
    }

    @Test("one record renders the defines and the launch sizes")
    func definesAndLaunch() throws {
        let geometry = try Self.geometry(TensorShape(2, 4, 20, 35), filters: 10, kernel: Size2D(3),
                                         Conv2DDescriptor(padding: .same, groups: 2))
        let tiled = KernelConfiguration.choose(for: geometry, on: Self.device(), choice: .tiled)
        #expect(tiled.buildOptions == "-cl-std=CL1.2 -DTILE_W=16 -DTILE_H=8 -DK_BLOCK=4 -DKERNEL_H=3 -DKERNEL_W=3")
        let launch = tiled.launch(for: geometry)
        // 35 columns → 48, 20 rows → 24, N · groups · ceil(5 / 4) = 2 · 2 · 2.
        #expect(launch.global == [48, 24, 8] && launch.local == [16, 8, 1])
        #expect(tiled.tileExtent(for: geometry) == Size2D(height: 10, width: 18))
        let direct = KernelConfiguration.choose(for: geometry, on: Self.device(), choice: .direct)
        #expect(direct.buildOptions == "-cl-std=CL1.2 -DWG_X=16 -DWG_Y=4 -DKERNEL_H=3 -DKERNEL_W=3")
        #expect(direct.launch(for: geometry).global == [48, 20, 20])
    }

    @Test("tiled falls back to direct where its tile does not fit; small work-groups shrink")
    func fallbacks() throws {
        let wide = try Self.geometry(TensorShape(1, 1, 200, 200), filters: 1, kernel: Size2D(7),
                                     Conv2DDescriptor(stride: Size2D(3), dilation: Size2D(4)))
        #expect(KernelConfiguration.choose(for: wide, on: Self.device(localMemory: 4096), choice: .tiled).file == .direct)
        #expect(KernelConfiguration.choose(for: wide, on: Self.device(), choice: .tiled).file == .tiled)
        let small = KernelConfiguration.choose(for: wide, on: Self.device(maxWorkGroup: 32), choice: .tiled)
        #expect(small.file == .direct && small.workGroup == Size2D(height: 2, width: 16))
        #expect(KernelConfiguration.variants(for: Self.device(maxWorkGroup: 32)).allSatisfy { $0.file != .tiled })
    }

    @Test("one pooling program: defines, division flag, launch sizes, global path")
    func pooling() throws {
        var device = Self.device()
        let plain = KernelConfiguration.pool(on: device)
        #expect(plain.buildOptions == "-cl-std=CL1.2 -DWG_X=16 -DWG_Y=4")
        device.correctlyRoundedDivide = true
        let pool = KernelConfiguration.pool(on: device)
        #expect(pool.buildOptions == "-cl-std=CL1.2 -cl-fp32-correctly-rounded-divide-sqrt -DWG_X=16 -DWG_Y=4")
        #expect(KernelConfiguration.variants(for: device).filter { $0.file == .pool } == [pool])
        let windowed = try Pool2DDescriptor(mode: .max, window: Size2D(3), stride: Size2D(2), padding: .same)
            .resolve(input: TensorShape(2, 3, 35, 20))
        let launch = pool.launch(forPool: windowed)
        // 10 columns → 16, 18 rows → 20, N · C = 6.
        #expect(launch.entryPoint == "pool2d" && launch.global == [16, 20, 6] && launch.local == [16, 4, 1])
        let global = try Pool2DDescriptor.global(.average).resolve(input: TensorShape(2, 3, 35, 20))
        let reduction = pool.launch(forPool: global)
        #expect(reduction.entryPoint == "global_pool2d" && reduction.global == [64 * 6] && reduction.local == [64])
        let small = KernelConfiguration.pool(on: Self.device(maxWorkGroup: 32))
        #expect(small.workGroup == Size2D(height: 2, width: 16) && small.reductionLanes == 32)
    }

    @Test("igemm: defines, launch sizes, heuristic per device kind, device limits")
    func igemm() throws {
        let gpu = Self.device()
        var cpu = gpu
        cpu.kind = .cpu
        let pointwise = try Self.geometry(TensorShape(1, 64, 56, 56), filters: 256, kernel: Size2D(1))
        let cpuChoice = KernelConfiguration.choose(for: pointwise, on: cpu, choice: .auto)
        #expect(cpuChoice.buildOptions == "-cl-std=CL1.2 -DTN=4 -DTM=2 -DRN=16 -DRM=16" && cpuChoice.file == .gemm1x1)
        let fewFilters = try Self.geometry(TensorShape(1, 64, 56, 56), filters: 12, kernel: Size2D(1))
        #expect(KernelConfiguration.choose(for: fewFilters, on: cpu, choice: .auto).channelBlock == 8)
        #expect(KernelConfiguration.choose(for: pointwise, on: cpu, choice: .igemm).buildOptions
                == "-cl-std=CL1.2 -DTN=4 -DTM=2 -DRN=16 -DRM=16 -DUSE_LOCAL=0 -DTK=8")
        #expect(KernelConfiguration.isFlat(pointwise))
        // 3136 pixels / 16 = 196 → 196 (TN 4); 256 / 16 = 16 filter blocks (TM 2); N · groups = 1.
        #expect(cpuChoice.launch(for: pointwise).global == [196, 16, 1] && cpuChoice.launch(for: pointwise).local == [4, 2, 1])
        let gpuChoice = KernelConfiguration.choose(for: pointwise, on: gpu, choice: .auto)
        #expect(gpuChoice.localTiles && gpuChoice.workGroup == Size2D(16) && gpuChoice.channelBlock == 8)
        #expect(gpuChoice.localMemoryBytes == (128 * 8 + 8 * 128) * 4)
        // Row mode: 14 rows · ceil(14 / 16) blocks for the 3×3 layer on a CPU.
        let spatial = try Self.geometry(TensorShape(2, 32, 14, 14), filters: 20, kernel: Size2D(3),
                                        Conv2DDescriptor(padding: .same, groups: 2))
        let row = KernelConfiguration.choose(for: spatial, on: cpu, choice: .auto)
        #expect(!KernelConfiguration.isFlat(spatial) && row.pixelBlock == 16)
        // 14 → 16 (TN 4); ceil(10 / 8) = 2 filter blocks → TM 2; N · groups = 4.
        #expect(row.launch(for: spatial).global == [16, 2, 4])
        // 7-wide rows: pair mode, 16 pixels = two rows per work-item, ceil(7 / 2) = 4 blocks.
        let narrow = try Self.geometry(TensorShape(1, 32, 7, 7), filters: 16, kernel: Size2D(3), Conv2DDescriptor(padding: .same))
        let narrowChoice = KernelConfiguration.choose(for: narrow, on: cpu, choice: .auto)
        #expect(narrowChoice.pixelBlock == 16 && narrowChoice.pairsRows(narrow) && narrowChoice.flatMode(narrow) == 2)
        #expect(narrowChoice.launch(for: narrow).global == [4, 2, 1])
        #expect(!KernelConfiguration.choose(for: narrow, on: gpu, choice: .auto).pairsRows(narrow), "local tiles never pair")
        // 10-wide rows: 8 pixels per work-item, 10 rows · 2 blocks → 20.
        let ten = try Self.geometry(TensorShape(1, 32, 10, 10), filters: 16, kernel: Size2D(3), Conv2DDescriptor(padding: .same))
        let tenChoice = KernelConfiguration.choose(for: ten, on: cpu, choice: .auto)
        #expect(tenChoice.pixelBlock == 8 && !tenChoice.pairsRows(ten) && tenChoice.launch(for: ten).global == [20, 2, 1])
        // Depthwise layers take the depthwise kernel (3×3 unrolled), 1×1 strided ones the 1×1 GEMM.
        let depthwise = try Self.geometry(TensorShape(1, 32, 20, 20), filters: 32, kernel: Size2D(3),
                                          Conv2DDescriptor(padding: .same, groups: 32))
        let dwChoice = KernelConfiguration.choose(for: depthwise, on: cpu, choice: .auto)
        #expect(dwChoice.file == .depthwise && dwChoice.unrolledKernel == Size2D(3))
        // 20 rows · ceil(20 / 8) = 60 → 64 (TN 8); K = 32; N = 1.
        #expect(dwChoice.launch(for: depthwise).global == [64, 32, 1] && dwChoice.launch(for: depthwise).local == [8, 1, 1])
        #expect(KernelConfiguration.choose(for: depthwise, on: gpu, choice: .auto).file == .depthwise)
        let strided = try Self.geometry(TensorShape(1, 64, 28, 28), filters: 128, kernel: Size2D(1), Conv2DDescriptor(stride: Size2D(2)))
        #expect(KernelConfiguration.choose(for: strided, on: cpu, choice: .auto).file == .gemm1x1)
        // A strided 1×1 layer with 7-wide rows: igemm's pair mode.
        let stridedNarrow = try Self.geometry(TensorShape(1, 64, 14, 14), filters: 32, kernel: Size2D(1),
                                              Conv2DDescriptor(stride: Size2D(2)))
        let pairChoice = KernelConfiguration.choose(for: stridedNarrow, on: cpu, choice: .auto)
        #expect(pairChoice.file == .igemm && pairChoice.pairsRows(stridedNarrow), "\(pairChoice)")
        #expect(KernelConfiguration.choose(for: strided, on: gpu, choice: .auto).file == .igemm)
        // A device with 64-work-item groups and 4 KiB of local memory: no 16×16 tile, no
        // 128×128 local tile; what remains fits, and nothing is chosen that does not.
        let small = OpenCLDeviceInfo(index: 0, name: "small", vendor: "t", kind: .gpu, openCLVersion: "OpenCL 1.2",
                                     driverVersion: "1", platformName: "t", platformVersion: "OpenCL 1.2",
                                     computeUnits: 1, maxWorkGroupSize: 64, maxWorkItemSizes: [64, 64, 64],
                                     localMemoryBytes: 4096, globalMemoryBytes: 1 << 20, maxAllocationBytes: 1 << 18,
                                     preferredFloatVectorWidth: 1, extensions: [])
        let limited = KernelConfiguration.choose(for: pointwise, on: small, choice: .auto)
        #expect(limited.fitsIGEMM(on: small) && limited.workGroup.width * limited.workGroup.height <= 64)
        #expect(UInt64(limited.localMemoryBytes) <= small.localMemoryBytes / 2)
        #expect(KernelConfiguration.variants(for: small).allSatisfy { $0.file != .igemm || $0.fitsIGEMM(on: small) })
        #expect(KernelConfiguration.choose(for: pointwise, on: Self.device(maxWorkGroup: 16), choice: .igemm).file == .direct)
    }

    @Test("shape classes cover ResNet, VGG and MobileNet with a handful of names")
    func shapeClasses() throws {
        let classes = try [
            Self.geometry(TensorShape(1, 3, 224, 224), filters: 64, kernel: Size2D(7), Conv2DDescriptor(stride: Size2D(2))),
            Self.geometry(TensorShape(1, 64, 56, 56), filters: 64, kernel: Size2D(3), Conv2DDescriptor(padding: .same)),
            Self.geometry(TensorShape(1, 512, 7, 7), filters: 2048, kernel: Size2D(1)),
            Self.geometry(TensorShape(1, 32, 112, 112), filters: 32, kernel: Size2D(3), Conv2DDescriptor(groups: 32)),
        ].map { ShapeClass($0).name }
        #expect(classes == ["other.s2.large.narrow", "3x3.s1.large.wide", "1x1.s1.small.wide", "dw.3x3.s1"])
    }

    @Test("the tuning database round-trips; a corrupt or foreign one falls back to the heuristic")
    func tuningDatabase() throws {
        let device = Self.device()
        let geometry = try Self.geometry(TensorShape(1, 64, 56, 56), filters: 64, kernel: Size2D(3), Conv2DDescriptor(padding: .same))
        let shapeClass = ShapeClass(geometry)
        let tuned = KernelConfiguration.igemmCandidates(for: device)[2]
        var database = TuningDatabase()
        database.set(.init(tuned, milliseconds: 1.5, gflops: 100), for: shapeClass, on: device)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("convkit-tuning-\(UInt32.random(in: 0...UInt32.max))")
        try database.store(in: directory)
        let loaded = try #require(TuningDatabase.load(from: directory))
        #expect(loaded == database)
        #expect(KernelConfiguration.choose(for: geometry, on: device, choice: .auto, tuning: loaded) == tuned)
        let heuristic = KernelConfiguration.choose(for: geometry, on: device, choice: .auto)
        #expect(heuristic != tuned)
        // Another device (driver update) does not see the entry.
        var updated = device
        updated.driverVersion = "2"
        #expect(KernelConfiguration.choose(for: geometry, on: updated, choice: .auto, tuning: loaded) == heuristic)
        // Winners stored under the same device with other kernels (the key without this
        // build's kernel hash, as another ConvKit version writes it) are not used.
        var otherKernels = TuningDatabase()
        otherKernels.devices["\(device.name) | \(device.driverVersion)"] = database.devices[TuningDatabase.key(for: device)]
        #expect(otherKernels.entry(for: shapeClass, on: device) == nil)
        #expect(KernelConfiguration.choose(for: geometry, on: device, choice: .auto, tuning: otherKernels) == heuristic)
        // An entry naming a configuration the backend cannot choose is ignored.
        var foreign = database
        var entry = try #require(foreign.entry(for: shapeClass, on: device))
        entry.rn = 3
        foreign.set(entry, for: shapeClass, on: device)
        #expect(KernelConfiguration.choose(for: geometry, on: device, choice: .auto, tuning: foreign) == heuristic)
        // A corrupt file loads as nil.
        try Data("{ not json".utf8).write(to: directory.appendingPathComponent(TuningDatabase.fileName))
        #expect(TuningDatabase.load(from: directory) == nil)
        try? FileManager.default.removeItem(at: directory)
    }
}
