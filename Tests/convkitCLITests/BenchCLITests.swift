import ConvKit
import Foundation
import Testing

@Suite("convkit bench")
struct BenchCLITests {
    @Test("--json writes the fields scripts outside the repo read, consistent with the shape")
    func json() throws {
        let scratch = try Scratch()
        let result = try CLI.run(["bench", "--shape", "mb1ic3ih8oc4oh8kh3ph1 # a comment", "--shape", "g4mb2ic4ih9oc4kh3sh2",
                                  "--device", "cpu", "--threads", "1", "--budget", "0.01", "--peak", "100",
                                  "--json", scratch.path("bench.json")])
        #expect(result.status == 0, "\(result.stderr)")
        let data = try Data(contentsOf: URL(fileURLWithPath: scratch.path("bench.json")))
        let entries = try #require(try JSONSerialization.jsonObject(with: data) as? [[String: Any]])
        #expect(entries.count == 2)
        let first = try #require(entries.first)
        #expect(Set(first.keys) == ["descriptor", "device", "algorithm", "median_ms", "min_ms", "runs", "gflops", "peak_fraction"])
        #expect(first["descriptor"] as? String == "mb1ic3ih8iw8oc4oh8ow8kh3kw3sh1sw1ph1pw1dh0dw0g1")
        #expect(entries[1]["descriptor"] as? String == "mb2ic4ih9iw9oc4oh4ow4kh3kw3sh2sw2ph0pw0dh0dw0g4")
        #expect(first["device"] as? String == "cpu")
        let median = try #require(first["median_ms"] as? Double), gflops = try #require(first["gflops"] as? Double)
        let flops = 2.0 * 1 * 4 * 8 * 8 * 3 * 3 * 3
        #expect(abs(gflops * median * 1e6 - flops) / flops < 1e-6)
        #expect(abs((first["peak_fraction"] as? Double ?? 0) - gflops / 100) < 1e-9)
        #expect((first["runs"] as? Int ?? 0) >= 5)
        #expect((first["min_ms"] as? Double ?? .infinity) <= median)
        #expect(result.stdout.contains("| mb1ic3ih8iw8oc4oh8ow8kh3kw3sh1sw1ph1pw1dh0dw0g1 | cpu |"), "\(result.stdout)")
    }

    @Test("a malformed descriptor is a one-line error")
    func badDescriptor() throws {
        let result = try CLI.run(["bench", "--shape", "mb1ic3ih8oc4kh3zz9"])
        #expect(result.status != 0)
        #expect(result.stderr.hasPrefix("convkit: error: invalid benchdnn descriptor:"), "\(result.stderr)")
        #expect(result.stderr.split(separator: "\n").count == 1)
    }

    @Test("--shapes - reads standard input (a pipe), comments and blank lines skipped; a missing file is named")
    func shapesFromStandardInput() throws {
        let text = "mb1ic3ih8oc4oh8kh3ph1 # the 3x8x8 case\n\n# only a comment\nmb1ic1ih5oc1oh3kh3\n"
        let result = try CLI.run(["bench", "--shapes", "-", "--threads", "1", "--budget", "0.01"], input: text)
        #expect(result.status == 0, "\(result.stderr)")
        let rows = result.stdout.split(separator: "\n").filter { $0.hasPrefix("| mb") }
        #expect(rows.count == 2, "\(result.stdout)")
        let missing = try CLI.run(["bench", "--shapes", "no-such-shapes.txt"])
        #expect(missing.status != 0)
        #expect(missing.stderr.contains("no-such-shapes.txt: cannot read file: no such file"), "\(missing.stderr)")
    }
}
