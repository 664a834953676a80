import ConvKitCore

/// Runs cross-check cases on backends against the float64 reference.
public enum CrossCheck {
    /// What one backend did over a set of cases.
    public struct Summary: Sendable {
        /// The backend's name.
        public var backend: String
        /// Cases run.
        public var cases = 0
        /// Cases whose every element matched the rounded reference exactly.
        public var exactCases = 0
        /// The worst `|y − ref| / (ε·Σ|x̂·w|)` over all cases.
        public var worstRatio = 0.0
        /// Cases that broke their bound, or threw, with the reason.
        public var failures: [(case: CrossCheckCase, reason: String)] = []

        /// Whether no case failed.
        public var passed: Bool { failures.isEmpty }
    }

    /// Runs every case on every backend.
    ///
    /// - Parameters:
    ///   - cases: The problems.
    ///   - backends: The backends to check.
    ///   - kind: Small integers (must be bit-exact) or random floats (must hold `tau`).
    ///   - tau: The bound for random floats, per backend and geometry; defaults to the
    ///     backend's own ``ConvolutionBackend/errorBound(for:)``.
    /// - Returns: One summary per backend, in the order given.
    public static func run(_ cases: [CrossCheckCase], on backends: [any ConvolutionBackend],
                           data kind: CrossCheckCase.DataKind,
                           tau: ((any ConvolutionBackend, ConvolutionGeometry) -> Double)? = nil) -> [Summary] {
        run(cases, on: backends.map { ($0.name, $0) }, data: kind, tau: tau)
    }

    /// As ``run(_:on:data:tau:)``, with a label per backend (`"cpu:gemm"`), so several
    /// configurations of one backend can be told apart in the summaries.
    public static func run(_ cases: [CrossCheckCase], on labelled: [(label: String, backend: any ConvolutionBackend)],
                           data kind: CrossCheckCase.DataKind,
                           tau: ((any ConvolutionBackend, ConvolutionGeometry) -> Double)? = nil) -> [Summary] {
        let backends = labelled.map(\.backend)
        var summaries = labelled.map { Summary(backend: $0.label) }
        for testCase in cases {
            let (input, weights, bias) = testCase.data(kind)
            // The grid only holds cases that resolve.
            let geometry = try! testCase.descriptor.resolve(input: input.shape, weights: weights.shape,
                                                            biasCount: bias?.count)
            let reference = input.withUnsafeBufferPointer { x in
                weights.withUnsafeBufferPointer { w in
                    bias.withUnsafeBufferPointerOrNil { b in ReferenceBackend.evaluate(geometry, input: x, weights: w, bias: b) }
                }
            }
            for (index, backend) in backends.enumerated() {
                summaries[index].cases += 1
                do {
                    let output = try backend.convolve(input, weights: weights, bias: bias, descriptor: testCase.descriptor)
                    let agreement = output.withUnsafeBufferPointer {
                        Agreement(output: $0, values: reference.values, magnitudes: reference.magnitudes)
                    }
                    summaries[index].worstRatio = max(summaries[index].worstRatio, agreement.worstRatio)
                    if agreement.isExact { summaries[index].exactCases += 1 }
                    let bound = tau?(backend, geometry) ?? backend.errorBound(for: geometry)
                    let ok = kind == .smallIntegers ? agreement.isExact : agreement.holds(tau: bound)
                    if !ok {
                        let at = agreement.worstIndex
                        summaries[index].failures.append((testCase,
                            "element \(at): got \(output.scalars[at]), reference \(reference.values[at]), "
                            + "ratio \(agreement.worstRatio)"))
                    }
                } catch {
                    summaries[index].failures.append((testCase, "threw \(error)"))
                }
            }
        }
        return summaries
    }
}
