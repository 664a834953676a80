import ConvKit
import Foundation
import Testing

@Suite("convkit CLI")
struct CLITests {
    @Test("shape reports the textbook sizes", arguments: [
        (["--padding", "valid"], "output   1×1×3×3"),
        (["--padding", "same"], "output   1×1×5×5"),
        (["--stride", "2", "--padding", "same"], "output   1×1×3×3"),
    ])
    func shape(_ extra: [String], _ line: String) throws {
        let result = try CLI.run(["shape", "--input", "1,1,5,5", "--kernel", "3,3", "--out-channels", "1"] + extra)
        #expect(result.status == 0)
        #expect(result.stdout.contains(line), "\(result.stdout)")
    }

    @Test("shape shows the pads chosen and the floor formula")
    func shapeExplains() throws {
        let result = try CLI.run(["shape", "--input", "1,3,6,7", "--kernel", "3,2", "--out-channels", "4",
                                  "--stride", "2", "--padding", "same-lower"])
        #expect(result.stdout.contains("padding  same-lower → (top: 1, bottom: 0, left: 1, right: 0)"), "\(result.stdout)")
        #expect(result.stdout.contains("height: floor((6 + 1 + 0 − 3) / 2) + 1 = floor(4 / 2) + 1 = 3"), "\(result.stdout)")
        #expect(result.stdout.contains("width: floor((7 + 1 + 0 − 2) / 2) + 1 = floor(6 / 2) + 1 = 4"), "\(result.stdout)")
    }

    @Test("conv writes what the reference computes", arguments: ["cpu", "reference", "auto"])
    func conv(_ device: String) throws {
        let scratch = try Scratch()
        let x = try Tensor(shape: TensorShape(2, 4, 7, 6)) { Float(($0 * 7) % 11) - 5 }
        let w = try Tensor(shape: TensorShape(6, 2, 3, 2)) { Float(($0 * 5) % 7) - 3 }
        let bias: [Float] = [1, -2, 0.5, 3, 0, -1]
        try NPYArray(shape: [6], scalars: bias).write(to: scratch.path("b.npy"))
        let result = try CLI.run(["conv", "--input", try scratch.write(x, "x.npy"), "--weights", try scratch.write(w, "w.npy"),
                                  "--bias", scratch.path("b.npy"), "--stride", "2,1", "--padding", "0,1,1,0",
                                  "--dilation", "1,2", "--groups", "2", "--device", device, "--output", scratch.path("y.npy")])
        #expect(result.status == 0, "\(result.stderr)")
        let descriptor = Conv2DDescriptor(stride: Size2D(height: 2, width: 1), dilation: Size2D(height: 1, width: 2),
                                          padding: .explicit(top: 0, bottom: 1, left: 1, right: 0), groups: 2)
        let expected = try ReferenceBackend().convolve(x, weights: w, bias: bias, descriptor: descriptor)
        let written = try NPYArray(contentsOf: scratch.path("y.npy")).tensor(path: "y.npy", role: "output")
        #expect(written == expected)
    }

    struct BadInput: Sendable, CustomStringConvertible {
        var name: String
        var arguments: [String]
        var message: String
        var description: String { name }
    }

    static let badInputs: [BadInput] = [
        .init(name: "corrupt npy", arguments: ["--input", "corrupt.npy"],
              message: "corrupt.npy: not a .npy file: expected the magic string \\x93NUMPY at the start"),
        .init(name: "truncated npy", arguments: ["--input", "truncated.npy"],
              message: "truncated.npy: data is 100 bytes but the header's shape needs 128 bytes (file truncated or corrupt)"),
        .init(name: "wrong dtype", arguments: ["--input", "int.npy"],
              message: "int.npy: unsupported dtype '<i4': expected little-endian float32 '<f4' or float64 '<f8'"),
        .init(name: "mismatched channels", arguments: ["--weights", "w3.npy"],
              message: "invalid weights shape: expected [K, C/groups, R, S] = 2×2×3×3, but got 2×3×3×3"),
        .init(name: "groups not dividing", arguments: ["--groups", "3"],
              message: "invalid groups: expected groups ≥ 1 dividing input channels (2) and output channels (2), but got 3"),
        .init(name: "stride 0", arguments: ["--stride", "0"],
              message: "invalid stride: expected height ≥ 1 and width ≥ 1, but got (height: 0, width: 0)"),
        .init(name: "kernel larger than padded input", arguments: ["--weights", "w9.npy"],
              message: "invalid kernel size: expected effective kernel ≤ padded input (height: 4, width: 4) on both axes, "
                  + "but got effective kernel (height: 9, width: 9)"),
        .init(name: "missing file", arguments: ["--input", "absent.npy"], message: "absent.npy: cannot read file:"),
        .init(name: "bad padding", arguments: ["--padding", "wide"],
              message: "The value 'wide' is invalid for '--padding <padding>': expected padding as valid, same, same-lower, "
                  + "p, ph,pw or top,bottom,left,right, but got 'wide'"),
    ]

    @Test("bad input: one line on stderr, non-zero exit, no output file", arguments: badInputs)
    func rejects(_ bad: BadInput) throws {
        let scratch = try Scratch()
        let fm = FileManager.default
        let x = try Tensor(shape: TensorShape(1, 2, 4, 4)) { Float($0) }
        _ = try scratch.write(x, "x.npy")
        _ = try scratch.write(try Tensor(shape: TensorShape(2, 2, 3, 3)) { _ in 1 }, "w.npy")
        _ = try scratch.write(try Tensor(shape: TensorShape(2, 3, 3, 3)) { _ in 1 }, "w3.npy")
        _ = try scratch.write(try Tensor(shape: TensorShape(2, 2, 9, 9)) { _ in 1 }, "w9.npy")
        fm.createFile(atPath: scratch.path("corrupt.npy"), contents: Data((0..<200).map { UInt8($0 % 251) }))
        let whole = try Data(contentsOf: URL(fileURLWithPath: scratch.path("x.npy")))
        fm.createFile(atPath: scratch.path("truncated.npy"), contents: whole.prefix(whole.count - 28))
        var header = "{'descr': '<i4', 'fortran_order': False, 'shape': (1, 2, 4, 4), }"
        while (10 + header.utf8.count + 1) % 64 != 0 { header += " " }
        header += "\n"
        var int32 = Data([0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0, UInt8(header.utf8.count), 0])
        int32.append(contentsOf: Array(header.utf8) + [UInt8](repeating: 0, count: 128))
        fm.createFile(atPath: scratch.path("int.npy"), contents: int32)

        var options = ["--input": "x.npy", "--weights": "w.npy", "--output": "y.npy"]
        var extra: [String] = []
        var index = 0
        while index < bad.arguments.count {
            let (key, value) = (bad.arguments[index], bad.arguments[index + 1])
            if options[key] != nil { options[key] = value } else { extra += [key, value] }
            index += 2
        }
        let arguments = ["conv"] + options.sorted { $0.key < $1.key }.flatMap { [$0.key, scratch.path($0.value)] } + extra
        let result = try CLI.run(arguments)
        #expect(result.status != 0)
        let lines = result.stderr.split(separator: "\n")
        #expect(lines.count == 1, "\(result.stderr)")
        let expected = bad.message.hasPrefix("invalid") || bad.message.hasPrefix("The value")
            ? bad.message : scratch.path(bad.message)
        #expect(lines.first.map { $0.hasPrefix("convkit: error: \(expected)") } == true, "\(result.stderr)")
        #expect(!fm.fileExists(atPath: scratch.path("y.npy")))
        let leftovers = try fm.contentsOfDirectory(atPath: scratch.url.path).filter { $0.contains("y.npy") }
        #expect(leftovers.isEmpty, "no temporary output left behind: \(leftovers)")
    }
}
