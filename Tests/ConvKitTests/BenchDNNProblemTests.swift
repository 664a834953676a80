import ConvKit
import Testing

@Suite("benchdnn descriptors")
struct BenchDNNProblemTests {
    @Test("a full descriptor round-trips to its canonical form")
    func canonical() throws {
        let text = "mb1ic64ih56iw56oc64oh56ow56kh3kw3sh1sw1ph1pw1dh0dw0g1"
        let problem = try BenchDNNProblem(parsing: text)
        #expect(problem.input == TensorShape(1, 64, 56, 56))
        #expect(problem.weights == TensorShape(64, 64, 3, 3))
        #expect(problem.descriptor.padding == .explicit(top: 1, bottom: 1, left: 1, right: 1))
        #expect(try problem.canonical() == text)
    }

    @Test("defaults fill missing fields; dilation is written d−1; a # starts a comment")
    func defaults() throws {
        let problem = try BenchDNNProblem(parsing: "g32mb1ic32ih112oc32kh3ph2dh1 # depthwise, dilated")
        #expect(problem.input == TensorShape(1, 32, 112, 112))
        #expect(problem.weights == TensorShape(32, 1, 3, 3))
        #expect(problem.descriptor.dilation == Size2D(2))
        #expect(problem.descriptor.groups == 32)
        #expect(try problem.canonical() == "mb1ic32ih112iw112oc32oh112ow112kh3kw3sh1sw1ph2pw2dh1dw1g32")
    }

    @Test("oh fixes the end pad, including strides that leave cells unused")
    func endPad() throws {
        let problem = try BenchDNNProblem(parsing: "mb1ic256ih56oc512oh28kh1sh2ph0")
        #expect(problem.descriptor.padding == .explicit(top: 0, bottom: 0, left: 0, right: 0))
        let asymmetric = try BenchDNNProblem(parsing: "mb1ic8ih6oc8oh3kh3sh2ph0")
        #expect(asymmetric.descriptor.padding == .explicit(top: 0, bottom: 1, left: 0, right: 1))
    }

    @Test("a contradictory oh or an unknown field is an error")
    func errors() {
        #expect(throws: ConvolutionError.self) { try BenchDNNProblem(parsing: "mb1ic8ih8oc8oh1kh3") }
        #expect(throws: ConvolutionError.self) { try BenchDNNProblem(parsing: "mb1ic8ih8oc8kh3zz4") }
        #expect(throws: ConvolutionError.self) { try BenchDNNProblem(parsing: "mb1ih8oc8kh3") }
    }

    @Test("every built-in suite layer is valid and matches its name's channel counts")
    func suites() throws {
        #expect(LayerSuite.resnet50.layers.count == 23)
        #expect(LayerSuite.resnet50.layers.map(\.count).reduce(0, +) == 53)
        for suite in LayerSuite.allCases {
            for layer in suite.layers {
                _ = try layer.problem.canonical()
            }
        }
    }
}
