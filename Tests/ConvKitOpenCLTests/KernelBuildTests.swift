import ConvKitCore
@testable import ConvKitOpenCL
import Foundation
import Testing
import _ConvKitTestSupport

@Suite("OpenCL kernel sources and program caches")
struct KernelBuildTests {
    /// `Tests/ConvKitOpenCLTests/<this file>` → the repository root.
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    @Test("the kernels shipped inside the library equal kernels/")
    func embeddedMatchesDisk() throws {
        let directory = Self.repository.appendingPathComponent("kernels")
        let onDisk = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".cl") }
        #expect(Set(onDisk) == Set(KernelFile.allCases.map(\.rawValue) + [KernelFile.commonHelpersFile]),
                "every .cl file is a KernelFile (or the shared helpers) and embedded")
        for file in KernelFile.allCases {
            let text = try String(contentsOf: directory.appendingPathComponent(file.rawValue), encoding: .utf8)
            #expect(file.embeddedText == text, "\(file) in the library differs from kernels/\(file); rebuild")
            // Entry points live in the file or, for the shared filter repack, in the helpers
            // the host prepends.
            let source = file.usesCommonHelpers ? KernelFile.embeddedCommonHelpers + text : text
            #expect(text.contains("__kernel") && file.entryPoints.allSatisfy { source.contains("void \($0)(") })
        }
    }

    @Test("the shared border and epilogue helpers are embedded and use the Swift codes")
    func sharedHelpers() throws {
        let directory = Self.repository.appendingPathComponent("kernels")
        let common = try String(contentsOf: directory.appendingPathComponent(KernelFile.commonHelpersFile), encoding: .utf8)
        #expect(KernelFile.embeddedCommonHelpers == common, "conv_common.cl in the library differs from kernels/; rebuild")
        for file in KernelFile.allCases where file.usesCommonHelpers {
            let source = try KernelSourceLocation.embedded.source(of: file)
            #expect(source.hasPrefix("#line 1 \"kernels/conv_common.cl\"\n" + common), "\(file) gets the helpers prepended")
            #expect(source.contains("#line 1 \"kernels/\(file.rawValue)\"\n"))
        }
        for border in BorderMode.allCases {
            #expect(common.contains("#define BORDER_\(border.rawValue.uppercased()) \(border.kernelCode)"))
        }
        let activations: [(String, Activation)] = [("IDENTITY", .identity), ("RELU", .relu), ("RELU6", .relu6),
                                                   ("CLAMP", .clamp(lower: 0, upper: 1)), ("LEAKY_RELU", .leakyRelu(alpha: 0.1)),
                                                   ("SIGMOID", .sigmoid), ("TANH", .tanh)]
        for (name, activation) in activations {
            #expect(common.contains("#define ACT_\(name) \(activation.code)\n"))
        }
    }

    @Test("every configuration the backend can choose builds", .enabled(if: TestDevice.shouldRun, TestDevice.skipReason))
    func everyVariantBuilds() throws {
        guard requireDevice() else { return }
        let backend = try TestDevice.backend()
        let variants = backend.configurations
        #expect(Set(variants.map(\.file)) == Set(KernelFile.allCases))
        #expect(Set(variants.map(\.buildOptions)).count == variants.count)
        #expect(variants.contains(backend.poolConfiguration))
        try backend.prepare()
        for variant in variants {
            let (program, origin) = try backend.program(for: variant)
            #expect(origin == .memory, "\(variant) was built by prepare()")
            for entryPoint in variant.file.entryPoints {
                var objects = OpenCLObjects()
                defer { objects.release() }
                _ = try objects.kernel(program, entryPoint)
            }
        }
        // The GPU configurations (igemm local tiles, depthwise) build here too.
        for configuration in TestDevice.forcedConfigurations {
            let (program, _) = try backend.program(for: configuration)
            var objects = OpenCLObjects()
            defer { objects.release() }
            _ = try objects.kernel(program, configuration.file.entryPoint)
        }
        // A direct-only backend still pools.
        let direct = try TestDevice.backend(.direct).configurations
        #expect(Set(direct.map(\.file)) == [.direct, .pool])
    }

    @Test("a second build loads the binary from the disk cache",
          .enabled(if: TestDevice.shouldRun, TestDevice.skipReason))
    func diskCacheHit() throws {
        guard requireDevice() else { return }
        let context = try OpenCLRuntime.context(at: 0)
        let directory = TestDevice.scratch.appendingPathComponent("disk-cache-\(UInt32.random(in: 0...UInt32.max))")
        let disk = DiskProgramCache(directory: directory)
        let configuration = KernelConfiguration.variants(for: context.info)[0]
        let source = try KernelSourceLocation.embedded.source(of: configuration.file)
        let builder = ProgramBuilder(device: context, disk: disk)
        let (_, first) = try builder.build(configuration.file, source: source, options: configuration.buildOptions)
        #expect(first == .source)
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        #expect(files.count == 1 && files[0].hasSuffix(".bin") && files[0].hasPrefix("conv2d_direct-"),
                "one binary, no temp file left: \(files)")
        let (_, second) = try builder.build(configuration.file, source: source, options: configuration.buildOptions)
        #expect(second == .disk)

        // A corrupt entry is not an error: the builder compiles from source and rewrites it.
        try Data("not a binary".utf8).write(to: directory.appendingPathComponent(files[0]))
        let (_, recovered) = try builder.build(configuration.file, source: source, options: configuration.buildOptions)
        #expect(recovered == .source)
        let (_, rewritten) = try builder.build(configuration.file, source: source, options: configuration.buildOptions)
        #expect(rewritten == .disk)
    }

    @Test("cache locations resolve; `off` disables")
    func cacheLocations() {
        #expect(ProgramCacheLocation.off.resolvedDirectory == nil)
        let url = URL(fileURLWithPath: "/tmp/x", isDirectory: true)
        #expect(ProgramCacheLocation.directory(url).resolvedDirectory == url)
        #expect(KernelSourceLocation.directory(url).resolved == .directory(url))
        var hash = FNV1a64()
        hash.combine("a")
        #expect(hash.hex.count == 16)
    }

    @Test("a broken kernel gives a build error naming the file and line",
          .enabled(if: TestDevice.shouldRun, TestDevice.skipReason))
    func brokenKernel() throws {
        guard requireDevice() else { return }
        let directory = TestDevice.scratch.appendingPathComponent("broken-kernels")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let broken = "// a kernel with a syntax error on line 3\n\n__kernel void conv2d_direct(__global float *x) { x[0] = ; }\n"
        try broken.write(to: directory.appendingPathComponent("conv2d_direct.cl"), atomically: true, encoding: .utf8)
        let common = Self.repository.appendingPathComponent("kernels").appendingPathComponent(KernelFile.commonHelpersFile)
        try? FileManager.default.removeItem(at: directory.appendingPathComponent(KernelFile.commonHelpersFile))
        try FileManager.default.copyItem(at: common, to: directory.appendingPathComponent(KernelFile.commonHelpersFile))
        let backend = try OpenCLBackend(kernel: .direct, kernels: .directory(directory), cache: .off)
        var generator = SeededGenerator(seed: 1)
        let problem = try Problem(input: TensorShape(1, 1, 4, 4), filters: 1, kernel: Size2D(3),
                                  descriptor: Conv2DDescriptor(), bias: false, generator: &generator,
                                  value: Problem.smallInteger)
        do {
            _ = try problem.run(on: backend)
            Issue.record("a broken kernel built")
        } catch let error as OpenCLError {
            guard case let .buildFailed(file, options, code, log) = error else {
                Issue.record("expected a build failure, got \(error)")
                return
            }
            #expect(file == "conv2d_direct.cl")
            #expect(options.contains("-DWG_X="))
            #expect(code == -11)
            #expect(log.contains("kernels/conv2d_direct.cl:3"), "the log names file and line: \(log)")
            #expect(error.description.contains("CL_BUILD_PROGRAM_FAILURE"))
        }
        // A missing file is reported with its location, not a crash.
        let tiled = try OpenCLBackend(kernel: .tiled, kernels: .directory(directory), cache: .off)
        let config = tiled.configuration(for: problem.geometry)
        #expect(config.file == .tiled)
        #expect(throws: OpenCLError.self) { _ = try problem.run(on: tiled) }
    }
}
