import CConvKitKernels
import ConvKitCore
@testable import ConvKitCPU
import Testing
import _ConvKitTestSupport

/// Prepared layers: packed GEMM weights give the one-shot call's exact results.
@Suite struct CPUPreparedConvolutionTests {
    /// GEMM shapes across the packed tile's cases: filter counts that are not a multiple of
    /// 8 (a padded last block), small and large maps (channel and pixel splits), partial
    /// 16- and 32-column panels and panels of 1–4 or 17–20 columns (the column tail), depth past
    /// one 256-tap block, 1×1 and strided, groups, batch, bias and fused activations.
    static let shapes: [(TensorShape, Int, Size2D, Conv2DDescriptor)] = [
        (TensorShape(1, 64, 7, 7), 37, Size2D(3), Conv2DDescriptor(padding: .same)),
        (TensorShape(1, 48, 14, 14), 20, Size2D(3), Conv2DDescriptor(stride: Size2D(2), padding: .same, activation: .relu)),
        (TensorShape(2, 40, 23, 19), 13, Size2D(1), Conv2DDescriptor()),
        (TensorShape(1, 300, 9, 9), 24, Size2D(1), Conv2DDescriptor(stride: Size2D(2))),
        (TensorShape(1, 12, 30, 30), 18, Size2D(3), Conv2DDescriptor(padding: .same, groups: 3, activation: .relu6)),
        (TensorShape(1, 3, 40, 44), 16, Size2D(7), Conv2DDescriptor(stride: Size2D(2), padding: .same)),
        // Last panels of 17–20 live columns (half tile + column tail): 81, 51 and 52 pixels,
        // two channel blocks of 128, two depth blocks, groups, an epilogue after the store.
        (TensorShape(1, 20, 9, 9), 150, Size2D(3), Conv2DDescriptor(padding: .same)),
        (TensorShape(1, 300, 3, 17), 12, Size2D(1), Conv2DDescriptor(activation: .sigmoid)),
        (TensorShape(2, 16, 4, 13), 18, Size2D(3),
         Conv2DDescriptor(padding: .same, groups: 2, activation: .leakyRelu(alpha: 0.25))),
        // Last panels of 1–3 live columns (the tail alone; 30×30 above ends in 4): 33, 66, 35 pixels.
        (TensorShape(1, 30, 11, 3), 9, Size2D(3), Conv2DDescriptor(padding: .same)),
        (TensorShape(1, 20, 6, 11), 140, Size2D(1), Conv2DDescriptor(activation: .tanh)),
        (TensorShape(1, 64, 5, 7), 40, Size2D(3), Conv2DDescriptor(padding: .same, activation: .relu)),
        // The filter-vector tile (≥ 64 filters on maps of ≤ 64 pixels, or ≤ 256 with ≥ 1024
        // taps): a last 64-filter block of 1 and of 3 vectors (72, 100 filters; 4 live lanes),
        // depth blocks of 256 + 64 and 256 + 104 taps (partial 64-tap slices), pixel tiles
        // of 6 and shorter (49 = 32 + 17, 25, 36), 196 pixels (6 panels + 4) in one block,
        // groups, batch, bias and both kinds of epilogue.
        (TensorShape(1, 64, 7, 7), 72, Size2D(3), Conv2DDescriptor(padding: .same, activation: .relu)),
        (TensorShape(1, 40, 9, 9), 100, Size2D(3), Conv2DDescriptor(stride: Size2D(2), padding: .same, activation: .sigmoid)),
        (TensorShape(2, 128, 6, 6), 128, Size2D(3), Conv2DDescriptor(padding: .same, groups: 2)),
        (TensorShape(1, 120, 14, 14), 80, Size2D(3), Conv2DDescriptor(padding: .same, activation: .leakyRelu(alpha: 0.5))),
    ]

    @Test("prepared GEMM layers equal the reference exactly on integer data, and the one-shot call bit for bit on floats")
    func preparedMatches() throws {
        for (index, (shape, outputs, kernel, descriptor)) in Self.shapes.enumerated() {
            for integers in [true, false] {
                let testCase = try ConvolutionCase(input: shape, outputChannels: outputs, kernel: kernel,
                                                   descriptor: descriptor, bias: index % 2 == 0, integers: integers,
                                                   seed: UInt64(700 + index))
                for threads in [1, 2] {
                    let backend = CPUBackend(threads: threads, algorithm: .gemm)
                    let prepared = try testCase.weights.withUnsafeBufferPointer { w in
                        try testCase.bias.withUnsafeBufferPointerOrNil { b in
                            try backend.prepare(testCase.geometry, weights: w, bias: b)
                        }
                    }
                    #expect(prepared.hasPackedWeights == (ck_has_avx512() != 0),
                            "packing is used exactly where the AVX-512 tile runs")
                    let output = try prepared(try Tensor(shape: shape, scalars: testCase.input)).scalars
                    // Sigmoid and tanh round differently from the float64 reference, so those
                    // layers are held to the one-shot call only.
                    if integers && descriptor.activation.isPiecewiseLinear {
                        testCase.expectExact(output, testCase.reference().values, "prepared, threads \(threads)")
                    } else {
                        let oneShot = try testCase.run(backend)
                        let same = output.indices.allSatisfy { output[$0].bitPattern == oneShot[$0].bitPattern }
                        #expect(same, "prepared and one-shot differ: \(testCase), threads \(threads)")
                    }
                }
            }
        }
    }

    @Test("the filter-vector shapes above take the filter-vector tile, the others the 8×32 one")
    func filterVectorShapes() throws {
        for (index, (shape, outputs, kernel, descriptor)) in Self.shapes.enumerated() {
            let geometry = try descriptor.resolve(input: shape, weights: TensorShape(outputs, shape.channels / descriptor.groups,
                                                                                     kernel.height, kernel.width),
                                                  biasCount: nil)
            let chosen = ck_gemm_filter_vectors(geometry.output.height * geometry.output.width,
                                                geometry.outputChannelsPerGroup, geometry.reductionLength) != 0
            #expect(chosen == (ck_has_avx512() != 0 && index >= Self.shapes.count - 4), "shape \(index): \(geometry)")
        }
    }

    @Test("prepared Winograd layers (weights transformed once) equal the one-shot call bit for bit and stay within τ")
    func preparedWinograd() throws {
        var shapes: [(TensorShape, Int, Size2D, Conv2DDescriptor)] = [
            (TensorShape(1, 40, 7, 7), 37, Size2D(3), Conv2DDescriptor(padding: .same)),
            (TensorShape(1, 48, 14, 14), 40, Size2D(3), Conv2DDescriptor(padding: .same, groups: 2, activation: .relu)),
            (TensorShape(2, 32, 21, 19), 24, Size2D(3), Conv2DDescriptor(padding: .same)),
            (TensorShape(1, 64, 28, 28), 64, Size2D(3), Conv2DDescriptor(padding: .symmetric(height: 1, width: 0))),
        ]
        if ck_has_avx512() != 0 {
            // F(2×2, 5×5): LeNet's second layer, and two blocks of filters over two groups.
            shapes.append((TensorShape(1, 6, 14, 14), 16, Size2D(5), Conv2DDescriptor()))
            shapes.append((TensorShape(2, 12, 11, 9), 40, Size2D(5), Conv2DDescriptor(padding: .same, groups: 2,
                                                                                       activation: .leakyRelu(alpha: 0.1))))
        }
        for (index, (shape, outputs, kernel, descriptor)) in shapes.enumerated() {
            let testCase = try ConvolutionCase(input: shape, outputChannels: outputs, kernel: kernel,
                                               descriptor: descriptor, bias: index % 2 == 0, integers: false,
                                               seed: UInt64(900 + index))
            let reference = testCase.reference()
            for threads in [1, 2] {
                let backend = CPUBackend(threads: threads, algorithm: .winograd)
                let prepared = try testCase.weights.withUnsafeBufferPointer { w in
                    try testCase.bias.withUnsafeBufferPointerOrNil { b in
                        try backend.prepare(testCase.geometry, weights: w, bias: b)
                    }
                }
                #expect(prepared.algorithm == .winograd && prepared.hasTransformedWeights && !prepared.hasPackedWeights)
                let input = try Tensor(shape: shape, scalars: testCase.input)
                for run in 0..<2 {
                    let output = try prepared(input).scalars
                    let oneShot = try testCase.run(backend)
                    let same = output.indices.allSatisfy { output[$0].bitPattern == oneShot[$0].bitPattern }
                    #expect(same, "prepared and one-shot Winograd differ: \(testCase), threads \(threads), run \(run)")
                    let agreement = testCase.agreement(output, reference)
                    #expect(agreement.holds(tau: CPUBackend.winogradTau(for: testCase.geometry)),
                            "\(testCase), threads \(threads): worst ratio \(agreement.worstRatio)")
                }
            }
        }
    }

    @Test("one prepared layer runs on several threads at once, each run exact")
    func concurrentRuns() async throws {
        let (shape, outputs, kernel, descriptor) = Self.shapes[1]
        let testCase = try ConvolutionCase(input: shape, outputChannels: outputs, kernel: kernel, descriptor: descriptor,
                                           bias: true, integers: true, seed: 801)
        let prepared = try testCase.weights.withUnsafeBufferPointer { w in
            try testCase.bias.withUnsafeBufferPointerOrNil { b in
                try CPUBackend(threads: 2, algorithm: .gemm).prepare(testCase.geometry, weights: w, bias: b)
            }
        }
        let input = try Tensor(shape: shape, scalars: testCase.input)
        let expected = testCase.reference().values.map { Float($0) }
        let matches = await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<4 {
                group.addTask { (0..<20).allSatisfy { _ in (try? prepared(input).scalars) == expected } }
            }
            return await group.reduce(true) { $0 && $1 }
        }
        #expect(matches, "a concurrent run differed from the reference")
    }

    @Test("wrong buffer sizes and input shapes are typed errors")
    func wrongSizes() throws {
        let geometry = try Conv2DDescriptor(padding: .same).resolve(input: TensorShape(1, 8, 10, 10),
                                                                    weights: TensorShape(16, 8, 3, 3), biasCount: nil)
        let weights = [Float](repeating: 1, count: geometry.filter.elementCount)
        #expect(throws: ConvolutionError.bufferSizeMismatch(parameter: "weights", expected: weights.count,
                                                            actual: weights.count - 1)) {
            try weights.dropLast().withUnsafeBufferPointer { try CPUBackend().prepare(geometry, weights: $0, bias: nil) }
        }
        let prepared = try weights.withUnsafeBufferPointer { try CPUBackend().prepare(geometry, weights: $0, bias: nil) }
        #expect(throws: ConvolutionError.self) { try prepared(try Tensor(zeros: TensorShape(1, 8, 10, 11))) }
        var output = [Float](repeating: 0, count: geometry.output.elementCount + 1)
        let input = [Float](repeating: 0, count: geometry.input.elementCount)
        #expect(throws: ConvolutionError.bufferSizeMismatch(parameter: "output", expected: output.count - 1,
                                                            actual: output.count)) {
            try input.withUnsafeBufferPointer { x in
                try output.withUnsafeMutableBufferPointer { y in try prepared.execute(input: x, output: y) }
            }
        }
    }

    @Test("an output buffer overlapping the input or bias is rejected before any work, which writes nothing")
    func overlappingBuffers() throws {
        // 1×1 from 4 to 4 channels keeps input and output the same size, so one array holds
        // both, a few floats apart, with the bias right behind them.
        let geometry = try Conv2DDescriptor().resolve(input: TensorShape(1, 4, 6, 6), weights: TensorShape(4, 4, 1, 1),
                                                      biasCount: 4)
        let count = geometry.input.elementCount
        var memory = (0..<(count + 9)).map { Float($0) }
        let before = memory
        let weights = [Float](repeating: 1, count: geometry.filter.elementCount), bias = [Float](repeating: 0, count: 4)
        let apart = [Float](repeating: 2, count: count)
        func expectOverlap(_ name: String, _ body: () throws -> Void) {
            #expect(throws: ConvolutionError.invalidValue(parameter: "output buffer",
                                                          expected: "memory apart from the \(name) (nothing runs in place)",
                                                          actual: "a buffer overlapping the \(name)")) { try body() }
        }
        let backend = CPUBackend(threads: 2)
        let prepared = try weights.withUnsafeBufferPointer { w in
            try bias.withUnsafeBufferPointer { b in try backend.prepare(geometry, weights: w, bias: b) }
        }
        let filter = try Tensor(shape: geometry.filter, scalars: weights)
        let chain = try backend.prepare(LayerChainPlan([.conv(Conv2DDescriptor(), filter, bias)], input: geometry.input))
        memory.withUnsafeMutableBufferPointer { all in
            let input = UnsafeBufferPointer(rebasing: all[0..<count])
            let output = UnsafeMutableBufferPointer(rebasing: all[5..<(count + 5)])
            let overlappingBias = UnsafeBufferPointer(rebasing: all[(count + 4)..<(count + 8)])
            weights.withUnsafeBufferPointer { w in
                bias.withUnsafeBufferPointer { b in
                    expectOverlap("input") { try backend.convolve(geometry, input: input, weights: w, bias: b, output: output) }
                }
                apart.withUnsafeBufferPointer { x in
                    expectOverlap("bias") {
                        try backend.convolve(geometry, input: x, weights: w, bias: overlappingBias, output: output)
                    }
                }
            }
            expectOverlap("input") { try prepared.execute(input: input, output: output) }
            expectOverlap("input") { try chain.run(input, into: output) }
        }
        #expect(memory == before, "a rejected call wrote nothing")
    }
}
