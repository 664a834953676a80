import ConvKit
import Synchronization
import Testing

/// A backend that fails like a lost or broken device, counting its calls.
final class FailingBackend: ConvolutionBackend {
    struct DeviceLost: Error, CustomStringConvertible {
        var description: String { "CL_DEVICE_NOT_AVAILABLE (-2) from clEnqueueNDRangeKernel" }
    }

    let name: String
    let device: ComputeDevice
    let calls = Atomic<Int>(0)

    init(name: String = "opencl:0", kind: DeviceKind = .gpu) {
        self.name = name
        device = ComputeDevice(kind: kind, name: "Injected \(kind) device", vendor: "test", computeUnits: 8)
    }

    func support(for geometry: ConvolutionGeometry) -> BackendSupport { .supported }

    func execute(_ geometry: ConvolutionGeometry, input: UnsafeBufferPointer<Float>, weights: UnsafeBufferPointer<Float>,
                 bias: UnsafeBufferPointer<Float>?, output: UnsafeMutableBufferPointer<Float>) throws {
        calls.add(1, ordering: .relaxed)
        throw DeviceLost()
    }

    func executePool(_ geometry: PoolGeometry, input: UnsafeBufferPointer<Float>,
                     output: UnsafeMutableBufferPointer<Float>) throws {
        calls.add(1, ordering: .relaxed)
        throw DeviceLost()
    }
}

@Suite("Dispatcher")
struct DispatcherTests {
    let x = try! Tensor(shape: TensorShape(1, 2, 6, 6)) { Float($0 % 5) - 2 }
    let w = try! Tensor(shape: TensorShape(3, 2, 3, 3)) { Float($0 % 3) - 1 }

    func dispatcher(_ failing: FailingBackend, strict: Bool = false, threshold: Int = 0) -> ConvolutionDispatcher {
        ConvolutionDispatcher(backends: [CPUBackend(), ReferenceBackend(), failing], gpuThresholdFLOPs: threshold, strict: strict)
    }

    @Test("a failing OpenCL device falls back to the CPU and records why")
    func fallback() throws {
        let failing = FailingBackend()
        let (y, selection) = try dispatcher(failing).convolve(x, weights: w, descriptor: Conv2DDescriptor(padding: .same),
                                                               device: .openCLIndex(0))
        #expect(failing.calls.load(ordering: .relaxed) == 1)
        #expect(selection.backend.name == "cpu")
        #expect(selection.fallback?.from == "opencl:0")
        #expect(selection.fallback?.error == "CL_DEVICE_NOT_AVAILABLE (-2) from clEnqueueNDRangeKernel")
        #expect(y == (try ReferenceBackend().convolve(x, weights: w, descriptor: Conv2DDescriptor(padding: .same))))
    }

    @Test("strict mode raises the device failure instead of falling back")
    func strict() {
        #expect(throws: DispatchError.deviceFailed(backend: "opencl:0",
                                                   reason: "CL_DEVICE_NOT_AVAILABLE (-2) from clEnqueueNDRangeKernel")) {
            try dispatcher(FailingBackend(), strict: true).convolve(x, weights: w, descriptor: Conv2DDescriptor(),
                                                                    device: .openCL)
        }
    }

    @Test("a caller mistake throws at once and is never retried")
    func userErrorNotRetried() {
        let failing = FailingBackend()
        #expect(throws: ConvolutionError.invalidStride(Size2D(height: 0, width: 1))) {
            try dispatcher(failing).convolve(x, weights: w, descriptor: Conv2DDescriptor(stride: Size2D(height: 0, width: 1)),
                                             device: .openCLIndex(0))
        }
        #expect(failing.calls.load(ordering: .relaxed) == 0)
    }

    @Test("auto picks a GPU at or above the FLOP threshold and the CPU below it")
    func automaticThreshold() throws {
        let geometry = try Conv2DDescriptor().resolve(input: x.shape, weights: w.shape)
        let low = dispatcher(FailingBackend(), threshold: geometry.flops + 1)
        let high = dispatcher(FailingBackend(), threshold: geometry.flops)
        #expect(try low.select(.automatic, for: geometry).backend.name == "cpu")
        #expect(try low.select(.automatic, for: geometry).reason == "auto: \(geometry.flops) FLOP < \(geometry.flops + 1) FLOP GPU threshold")
        #expect(try high.select(.automatic, for: geometry).backend.name == "opencl:0")
    }

    @Test("auto never picks a CPU-type OpenCL device")
    func automaticSkipsCPUDevices() throws {
        let pocl = ConvolutionDispatcher(backends: [CPUBackend(), FailingBackend(kind: .cpu)], gpuThresholdFLOPs: 0)
        let selection = try pocl.select(.automatic)
        #expect(selection.backend.name == "cpu")
        #expect(selection.reason.contains("CPU-type OpenCL devices are used only when requested"))
        #expect(try pocl.select(.openCL).backend.name == "opencl:0")
    }

    @Test("an unknown device is an error listing the valid ones")
    func unknownDevice() {
        let plain = ConvolutionDispatcher(backends: [CPUBackend(), ReferenceBackend()],
                                          unavailable: [UnavailableBackend(name: "opencl", reason: "no OpenCL platform")])
        #expect {
            try plain.select(.openCLName("bogus"))
        } throws: { error in
            (error as? DispatchError)?.description
                == "unknown device 'opencl:bogus': expected one of auto, cpu, reference (not available: opencl: no OpenCL platform)"
        }
    }

    @Test("device requests parse every documented spelling", arguments: [
        ("auto", DeviceRequest.automatic), ("cpu", .cpu), ("reference", .reference), ("opencl", .openCL),
        ("opencl:1", .openCLIndex(1)), ("opencl:NVIDIA", .openCLName("NVIDIA")),
    ])
    func parse(_ text: String, _ expected: DeviceRequest) throws {
        #expect(try DeviceRequest(parsing: text) == expected)
    }

    @Test("a malformed device request names the valid forms")
    func parseError() {
        #expect(throws: ConvolutionError.invalidValue(parameter: "device",
                                                      expected: "auto, cpu, reference, opencl, opencl:N or opencl:NAME",
                                                      actual: "'gpu'")) {
            try DeviceRequest(parsing: "gpu")
        }
    }
}
