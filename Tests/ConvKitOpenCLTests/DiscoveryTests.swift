import ConvKitCore
@testable import ConvKitOpenCL
import Testing

@Suite("OpenCL discovery and errors")
struct DiscoveryTests {
    @Test("discovery finds a device with its properties, or says clearly why not")
    func discoveryFindsDevice() throws {
        let discovery = TestDevice.discovery
        guard let first = discovery.devices.first else {
            let reason = "\(TestDevice.skipReason)"
            if TestDevice.isCI {
                Issue.record("CI=true but \(reason)")
            } else {
                withKnownIssue("no OpenCL device on this machine: \(reason)") { Issue.record("\(reason)") }
            }
            return
        }
        #expect(discovery.failure == nil)
        #expect(discovery.devices.map(\.index) == Array(discovery.devices.indices))
        #expect(!first.name.isEmpty)
        #expect(first.openCLVersion.hasPrefix("OpenCL "))
        #expect(first.computeUnits >= 1)
        #expect(first.maxWorkGroupSize >= 1)
        #expect(first.maxWorkItemSizes.count >= 3)
        #expect(first.localMemoryBytes > 0)
        #expect(first.globalMemoryBytes >= first.maxAllocationBytes)
        #expect(!first.platformName.isEmpty && !first.driverVersion.isEmpty)
        let backend = try TestDevice.backend()
        #expect(backend.name == "opencl:0")
        #expect(backend.device == first.computeDevice)
        if discovery.devices.contains(where: { $0.platformName.contains("Portable Computing Language") }) {
            #expect(first.kind == .cpu, "PoCL's device is a CPU device")
        }
    }

    @Test("an out-of-range device index names the count")
    func deviceIndexOutOfRange() throws {
        guard TestDevice.shouldRun, requireDevice() else { return }
        let count = TestDevice.discovery.devices.count
        #expect(throws: OpenCLError.deviceIndexOutOfRange(index: count, deviceCount: count)) {
            _ = try OpenCLBackend(deviceIndex: count)
        }
    }

    @Test("error text names the function, the code and its CL_ name")
    func errorDescriptions() {
        #expect(OpenCLError.call(function: "clCreateBuffer", code: -61).description
                == "clCreateBuffer failed: -61 (CL_INVALID_BUFFER_SIZE)")
        let noPlatform = OpenCLError.call(function: "clGetPlatformIDs", code: -1001).description
        #expect(noPlatform.contains("-1001 (CL_PLATFORM_NOT_FOUND_KHR)"))
        #expect(noPlatform.contains("apt-get install pocl-opencl-icd") && noPlatform.contains("clinfo -l"))
        #expect(OpenCLError.codeName(-11) == "CL_BUILD_PROGRAM_FAILURE")
        #expect(OpenCLError.codeName(-9999) == "unknown OpenCL error")
        let build = OpenCLError.buildFailed(file: "conv2d_direct.cl", options: "-DWG_X=16", code: -11, log: "x:1: error")
        #expect(build.description.contains("conv2d_direct.cl") && build.description.contains("-DWG_X=16")
                && build.description.contains("x:1: error"))
    }
}
