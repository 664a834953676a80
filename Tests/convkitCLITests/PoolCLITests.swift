import ConvKit
import Foundation
import Testing

@Suite("convkit pool and layer options")
struct PoolCLITests {
    @Test("pool writes what the reference computes", arguments: [
        (["--mode", "max", "--kernel", "3,2", "--stride", "2,1", "--padding", "1", "--ceil-mode"],
         Pool2DDescriptor(mode: .max, window: Size2D(height: 3, width: 2), stride: Size2D(height: 2, width: 1),
                          padding: .explicit(top: 1, bottom: 1, left: 1, right: 1), ceilMode: true)),
        (["--mode", "average", "--kernel", "2", "--padding", "1", "--ceil-mode", "--count-include-pad"],
         Pool2DDescriptor(mode: .average, window: Size2D(2), padding: .explicit(top: 1, bottom: 1, left: 1, right: 1),
                          ceilMode: true, countIncludePad: true)),
        (["--mode", "average", "--global"], Pool2DDescriptor.global(.average)),
    ])
    func pool(_ arguments: [String], _ descriptor: Pool2DDescriptor) throws {
        let scratch = try Scratch()
        let x = try Tensor(shape: TensorShape(2, 3, 7, 6)) { Float(($0 * 7) % 11) - 5 }
        let result = try CLI.run(["pool", "--input", try scratch.write(x, "x.npy"), "--output", scratch.path("y.npy")] + arguments)
        #expect(result.status == 0, "\(result.stderr)")
        let written = try NPYArray(contentsOf: scratch.path("y.npy")).tensor(path: "y.npy", role: "output")
        #expect(written == (try ReferenceBackend().pool(x, descriptor: descriptor)))
    }

    @Test("conv --activation and --border fuse as the descriptor says")
    func fusedConv() throws {
        let scratch = try Scratch()
        let x = try Tensor(shape: TensorShape(1, 2, 6, 5)) { Float(($0 * 5) % 9) - 4 }
        let w = try Tensor(shape: TensorShape(3, 2, 3, 3)) { Float(($0 * 3) % 5) - 2 }
        let result = try CLI.run(["conv", "--input", try scratch.write(x, "x.npy"), "--weights", try scratch.write(w, "w.npy"),
                                  "--padding", "same", "--border", "reflect", "--activation", "clamp:-4,6",
                                  "--output", scratch.path("y.npy")])
        #expect(result.status == 0, "\(result.stderr)")
        let expected = try ReferenceBackend().convolve(x, weights: w, descriptor: Conv2DDescriptor(
            padding: .same, border: .reflect, activation: .clamp(lower: -4, upper: 6)))
        #expect(try NPYArray(contentsOf: scratch.path("y.npy")).tensor(path: "y", role: "output") == expected)
    }

    @Test("conv --algorithm runs that CPU algorithm and says so", arguments: ["direct", "gemm"])
    func algorithm(_ name: String) throws {
        let scratch = try Scratch()
        let x = try Tensor(shape: TensorShape(1, 4, 9, 8)) { Float(($0 * 5) % 9) - 4 }
        let w = try Tensor(shape: TensorShape(6, 4, 3, 3)) { Float(($0 * 3) % 5) - 2 }
        let result = try CLI.run(["conv", "--input", try scratch.write(x, "x.npy"), "--weights", try scratch.write(w, "w.npy"),
                                  "--padding", "same", "--algorithm", name, "--explain", "--output", scratch.path("y.npy")])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("device: cpu — --algorithm \(name) ran \(name)"), "\(result.stdout)")
        let expected = try ReferenceBackend().convolve(x, weights: w, descriptor: Conv2DDescriptor(padding: .same))
        #expect(try NPYArray(contentsOf: scratch.path("y.npy")).tensor(path: "y", role: "output") == expected)
    }

    @Test("layer option mistakes are one-line errors", arguments: [
        (["conv", "--input", "x.npy", "--weights", "w.npy", "--algorithm", "gemm", "--device", "opencl", "--output", "y.npy"],
         "convkit: error: --algorithm applies to the cpu backend; drop --device opencl or use --device cpu"),
        (["bench", "--shape", "mb1ic3ih8oc4kh3", "--algorithm", "gemm", "--device", "opencl"],
         "convkit: error: --algorithm applies to --device cpu only"),
        (["pool", "--input", "x.npy", "--mode", "max", "--global", "--kernel", "2", "--output", "y.npy"],
         "convkit: error: --global takes no --kernel"),
        (["pool", "--input", "x.npy", "--mode", "max", "--output", "y.npy"],
         "convkit: error: --kernel is required unless --global is given"),
        (["conv", "--input", "x.npy", "--weights", "w.npy", "--activation", "swish", "--output", "y.npy"],
         "convkit: error: The value 'swish' is invalid for '--activation <activation>': expected an activation as identity, "
             + "relu, relu6, clamp:LO,HI, leaky-relu[:ALPHA], sigmoid or tanh, but got 'swish'"),
    ])
    func mistakes(_ arguments: [String], _ line: String) throws {
        let result = try CLI.run(arguments)
        #expect(result.status != 0)
        #expect(result.stderr == line + "\n")
    }
}
