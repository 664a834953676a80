import ConvKitCore
import ConvKitCPU
import Testing
import _ConvKitTestSupport

/// Layer chains on the CPU backend.
@Suite struct CPUChainTests {
    static func integers(_ shape: TensorShape, seed: UInt64) -> Tensor {
        var generator = SeededGenerator(seed: seed)
        return try! Tensor(shape: shape) { _ in Float(Int.random(in: -3...3, using: &generator)) }
    }

    @Test("conv → relu → maxpool → conv through run equals the steps one by one", arguments: [1, 2])
    func chain(threads: Int) throws {
        let backend = CPUBackend(threads: threads)
        let input = Self.integers(TensorShape(2, 3, 17, 22), seed: 1)
        let first = Self.integers(TensorShape(8, 3, 3, 3), seed: 2)
        let second = Self.integers(TensorShape(5, 8, 3, 3), seed: 3)
        let bias: [Float] = [1, -2, 0, 3, -1, 2, 0, 1]
        let convolution = Conv2DDescriptor(padding: .same, border: .reflect)
        let pooling = Pool2DDescriptor(mode: .max, window: Size2D(2), ceilMode: true)
        let steps: [LayerStep] = [
            .conv(convolution, first, bias, .relu),
            .maxPool(pooling),
            .conv(Conv2DDescriptor(stride: Size2D(height: 1, width: 2), padding: .valid), second),
        ]
        let chained = try backend.run(steps, input: input)
        // A prepared chain (GEMM weights packed once) gives the same, run after run.
        let prepared = try backend.prepare(LayerChainPlan(steps, input: input.shape))
        for _ in 0..<2 { #expect(try prepared.run(input).scalars == chained.scalars, "prepared chain") }

        var fused = convolution
        fused.activation = .relu
        let step1 = try backend.convolve(input, weights: first, bias: bias, descriptor: fused)
        let step2 = try backend.pool(step1, descriptor: pooling)
        let step3 = try backend.convolve(step2, weights: second, descriptor: Conv2DDescriptor(stride: Size2D(height: 1, width: 2)))
        #expect(chained.shape == step3.shape)
        #expect(chained.scalars == step3.scalars)

        // And the chain equals the reference backend's (integer data: exact).
        #expect(try ReferenceBackend().run(steps, input: input).scalars == chained.scalars)
        // relu then max pooling leaves nothing negative in the intermediate map.
        #expect(step2.scalars.allSatisfy { $0 >= 0 })
    }
}
