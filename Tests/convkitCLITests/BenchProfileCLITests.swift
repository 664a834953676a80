import ConvKit
import Foundation
import Testing

/// `convkit bench --profile`: device-side columns in the table and keys in the JSON.
@Suite("bench --profile")
struct BenchProfileCLITests {
    static let shape = "mb1ic4ih12oc8oh12kh3ph1"
    static let baseKeys: Set = ["descriptor", "device", "algorithm", "median_ms", "min_ms", "runs", "gflops"]
    static let profileKeys: Set = ["upload_ms", "kernel_ms", "download_ms"]

    @Test("--profile on the CPU is a one-line error")
    func rejectsCPU() throws {
        let result = try CLI.run(["bench", "--shape", Self.shape, "--profile"])
        #expect(result.status != 0)
        let lines = result.stderr.split(whereSeparator: \.isNewline)
        #expect(lines.count == 1 && result.stderr.contains("--profile needs an OpenCL device"), "\(result.stderr)")
        #expect(result.stdout.isEmpty)
    }

    @Test("--profile adds upload/kernel/download columns and JSON keys; the other keys stay",
          .enabled(if: !OpenCLRuntime.discover().devices.isEmpty, "no OpenCL device"))
    func profileJSON() throws {
        let scratch = try Scratch()
        // Private caches, so the test never writes into the user's and never shares PoCL's.
        let environment = ["CONVKIT_CACHE_DIR": scratch.path("programs"), "POCL_CACHE_DIR": scratch.path("pocl")]
        for profile in [true, false] {
            let json = scratch.path("bench-\(profile).json")
            let result = try CLI.run(["bench", "--device", "opencl", "--shape", Self.shape, "--budget", "0.02",
                                      "--json", json] + (profile ? ["--profile"] : []), environment: environment)
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.stdout.contains("upload ms | kernel ms | download ms") == profile, "\(result.stdout)")
            let data = try Data(contentsOf: URL(fileURLWithPath: json))
            let objects = try #require(try JSONSerialization.jsonObject(with: data) as? [[String: Any]])
            let object = try #require(objects.first)
            #expect(Set(object.keys) == Self.baseKeys.union(profile ? Self.profileKeys : []), "\(object.keys)")
            if profile {
                for key in Self.profileKeys {
                    let value = try #require(object[key] as? Double, "\(key)")
                    #expect(value >= 0, "\(key)")
                }
                // The kernel's own rate: the layer's FLOPs over the profiled kernel time.
                let kernel = try #require(object["kernel_ms"] as? Double)
                let row = try #require(result.stdout.split(whereSeparator: \.isNewline).first { $0.hasPrefix("| mb") })
                let cells = row.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
                let rate = try #require(Double(cells[10]), "\(row)")
                let problem = try BenchDNNProblem(parsing: Self.shape)
                let flops = try problem.descriptor.resolve(input: problem.input, weights: problem.weights).flops
                #expect(abs(rate - Double(flops) / (kernel * 1e6)) <= 0.01 + 0.001 * rate, "\(row)")
            }
        }
    }

    @Test("--profile with --peak adds the kernel's share of the peak",
          .enabled(if: !OpenCLRuntime.discover().devices.isEmpty, "no OpenCL device"))
    func profilePeak() throws {
        let scratch = try Scratch()
        let environment = ["CONVKIT_CACHE_DIR": scratch.path("programs"), "POCL_CACHE_DIR": scratch.path("pocl")]
        let result = try CLI.run(["bench", "--device", "opencl", "--shape", Self.shape, "--budget", "0.02", "--profile",
                                  "--peak", "50"], environment: environment)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("kernel GFLOP/s | kernel % peak |"), "\(result.stdout)")
        let row = try #require(result.stdout.split(whereSeparator: \.isNewline).first { $0.hasPrefix("| mb") })
        let cells = row.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
        let rate = try #require(Double(cells[11])), share = try #require(Double(cells[12]))
        #expect(abs(share - rate / 50 * 100) <= 0.1, "\(row)")
    }
}
