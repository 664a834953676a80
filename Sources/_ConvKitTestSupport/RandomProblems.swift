import ConvKitCore

/// Seeded generators of random convolution problems, valid and deliberately invalid.
///
/// Each draw is fixed by its seed, so a failure message that prints the seed reproduces.
public enum RandomProblems {
    /// A random valid case: any padding mode, strides and dilations per axis, groups
    /// (dense, grouped, depthwise, depthwise with a channel multiplier), batch and bias.
    public static func valid(seed: UInt64) -> CrossCheckCase {
        var g = SeededGenerator(seed: seed)
        while true {
            let kernel = Size2D(height: Int.random(in: 1...5, using: &g), width: Int.random(in: 1...5, using: &g))
            let stride = Size2D(height: Int.random(in: 1...3, using: &g), width: Int.random(in: 1...3, using: &g))
            let dilation = Size2D(height: Int.random(in: 1...3, using: &g), width: Int.random(in: 1...3, using: &g))
            let padding: Padding
            switch Int.random(in: 0..<4, using: &g) {
            case 0: padding = .valid
            case 1: padding = .same
            case 2: padding = .sameLower
            default:
                padding = .explicit(top: Int.random(in: 0...3, using: &g), bottom: Int.random(in: 0...3, using: &g),
                                    left: Int.random(in: 0...3, using: &g), right: Int.random(in: 0...3, using: &g))
            }
            let groups = [1, 1, 2, 3].randomElement(using: &g)!
            let perGroupIn = Int.random(in: 1...4, using: &g), perGroupOut = Int.random(in: 1...4, using: &g)
            let depthwise = Bool.random(using: &g)
            let (c, k, groupCount) = depthwise
                ? (perGroupIn + 1, (perGroupIn + 1) * [1, 2].randomElement(using: &g)!, perGroupIn + 1)
                : (groups * perGroupIn, groups * perGroupOut, groups)
            let input = TensorShape(Int.random(in: 1...3, using: &g), c,
                                    Int.random(in: 1...13, using: &g), Int.random(in: 1...13, using: &g))
            let weights = TensorShape(k, c / groupCount, kernel.height, kernel.width)
            let descriptor = Conv2DDescriptor(stride: stride, dilation: dilation, padding: padding, groups: groupCount)
            guard (try? descriptor.resolve(input: input, weights: weights)) != nil else { continue }
            return CrossCheckCase(input: input, weights: weights, descriptor: descriptor, hasBias: Bool.random(using: &g),
                                  seed: seed)
        }
    }

    /// A valid case with one rule broken, and the bias length the call should pass.
    ///
    /// - Returns: The case (its shapes may no longer match), and the bias count to pass,
    ///   which differs from `K` when the broken rule is the bias.
    public static func invalid(seed: UInt64) -> (case: CrossCheckCase, biasCount: Int?) {
        var g = SeededGenerator(seed: seed ^ 0xA5A5_A5A5)
        var broken = valid(seed: seed)
        var biasCount: Int? = broken.hasBias ? broken.weights.batch : nil
        switch Int.random(in: 0..<7, using: &g) {
        case 0: broken.descriptor.stride.height = Int.random(in: -2...0, using: &g)
        case 1: broken.descriptor.dilation.width = Int.random(in: -2...0, using: &g)
        case 2: broken.descriptor.groups = [0, -1, broken.input.channels + 1].randomElement(using: &g)!
        case 3: broken.weights.channels += 1
        case 4: biasCount = broken.weights.batch + [1, -1].randomElement(using: &g)!
        case 5: broken.descriptor.padding = .explicit(top: 0, bottom: -1, left: 1, right: 0)
        default:
            broken.descriptor.padding = .valid
            broken.weights.height = broken.input.height + 1
        }
        if biasCount == 0 { biasCount = 2 + broken.weights.batch }
        return (broken, biasCount)
    }
}
