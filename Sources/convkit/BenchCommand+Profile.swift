import ArgumentParser
import ConvKit
import Foundation

/// `convkit bench --profile`: device-side upload, kernel and download times per shape.
extension BenchCommand {
    /// The profile columns; the kernel's own rate (and share of `--peak`) is what a GPU's
    /// FMA-peak goal is judged by, transfers apart.
    func profileHeader() -> String {
        " upload ms | kernel ms | download ms | kernel GFLOP/s |" + (peak == nil ? "" : " kernel % peak |")
    }
    func profileRule() -> String { "---:|---:|---:|---:|" + (peak == nil ? "" : "---:|") }

    /// `--profile` needs an OpenCL device.
    func validateProfile() throws {
        guard profile else { return }
        switch device {
        case .openCL, .openCLIndex, .openCLName: return
        default: throw ValidationError("--profile needs an OpenCL device (--device opencl or opencl:N), not --device \(device)")
        }
    }

    /// The profile cells of a table row, or nothing without `--profile`.
    func profileCells(_ result: Result, flops: Int) -> String {
        guard let upload = result.upload_ms, let kernel = result.kernel_ms, let download = result.download_ms else { return "" }
        let rate = kernel > 0 ? Double(flops) / (kernel * 1e6) : 0
        let share = peak.map { String(format: " %.1f |", rate / $0 * 100) } ?? ""
        return String(format: " %.4f | %.4f | %.4f | %.2f |", upload, kernel, download, rate) + share
    }

    /// Runs the call the wall-clock table timed (input, weights, kernel, output) on a
    /// profiling queue, for about half the time budget (at least 3 runs, at most as many
    /// as were timed), and returns the median of each column over those runs.
    func profileRuns(_ geometry: ConvolutionGeometry, input: [Float], weights: [Float],
                     on backend: any ConvolutionBackend) throws -> (upload: Double, kernel: Double, download: Double) {
        guard let openCL = backend as? OpenCLBackend else {
            throw ValidationError("--profile needs an OpenCL device, but \(backend.name) was selected")
        }
        let stream = try openCL.makeStream(profiling: true)
        var output = [Float](repeating: 0, count: geometry.output.elementCount)
        var profiles: [OpenCLProfile] = []
        var spent = 0.0
        try input.withUnsafeBufferPointer { x in
            try weights.withUnsafeBufferPointer { w in
                try output.withUnsafeMutableBufferPointer { y in
                    repeat {
                        let start = DispatchTime.now().uptimeNanoseconds
                        profiles.append(try openCL.profile(geometry, input: x, weights: w, bias: nil, output: y, on: stream))
                        spent += Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
                    } while (spent < budget * 500 || profiles.count < 3) && profiles.count < 10_000
                }
            }
        }
        func median(_ values: [Double]) -> Double {
            let sorted = values.sorted()
            let middle = sorted.count / 2
            return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
        }
        return (median(profiles.map(\.uploadMilliseconds)), median(profiles.map(\.kernelMilliseconds)),
                median(profiles.map(\.downloadMilliseconds)))
    }
}
