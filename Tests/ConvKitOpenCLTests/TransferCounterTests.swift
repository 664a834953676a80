import ConvKitCore
@testable import ConvKitOpenCL
import Testing

/// The transfer counter of the ordinary (one-shot) paths.
@Suite("OpenCL transfer counting")
struct TransferCounterTests {
    @Test("an ordinary convolution counts its input, weights, bias and result",
          .enabled(if: TestDevice.shouldRun, TestDevice.skipReason))
    func convolutionTransfers() throws {
        guard requireDevice() else { return }
        let backend = try TestDevice.backend()
        let input = try Tensor(zeros: TensorShape(1, 2, 5, 5)), weights = try Tensor(zeros: TensorShape(3, 2, 3, 3))
        let before = backend.transferStatistics
        _ = try backend.convolve(input, weights: weights, bias: [1, 2, 3], descriptor: Conv2DDescriptor())
        _ = try backend.convolve(input, weights: weights, descriptor: Conv2DDescriptor())
        #expect(backend.transferStatistics - before
                == OpenCLTransferStatistics(activationUploads: 2, parameterUploads: 3, downloads: 2))
    }

    @Test("statistics subtract and describe themselves")
    func statistics() {
        let later = OpenCLTransferStatistics(activationUploads: 3, parameterUploads: 4, downloads: 2)
        let earlier = OpenCLTransferStatistics(activationUploads: 2, parameterUploads: 4, downloads: 1)
        #expect(later - earlier == OpenCLTransferStatistics(activationUploads: 1, downloads: 1))
        #expect((later - earlier).description == "1 activation upload, 0 parameter uploads, 1 download")
        #expect(later.uploads == 7)
    }
}
