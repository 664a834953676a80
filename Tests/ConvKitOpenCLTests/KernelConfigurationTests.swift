import ConvKitCore
@testable import ConvKitOpenCL
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
        let tiled = KernelConfiguration.choose(for: geometry, on: Self.device(), choice: .auto)
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
        let small = KernelConfiguration.choose(for: wide, on: Self.device(maxWorkGroup: 32), choice: .auto)
        #expect(small.file == .direct && small.workGroup == Size2D(height: 2, width: 16))
        let tiny = try Self.geometry(TensorShape(1, 1, 3, 3), filters: 1, kernel: Size2D(1))
        #expect(KernelConfiguration.choose(for: tiny, on: Self.device(), choice: .auto).file == .direct)
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
}
