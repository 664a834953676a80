import CConvKitKernels
import ConvKitCore

/// One layer's filters packed once for the GEMM tile (`ck_pack_gemm_weights`): per group,
/// blocks of 8 filters with each tap's 8 weights side by side, or, for the filter-vector
/// tile of small maps (`ck_gemm_filter_vectors`), blocks of 64 with each tap's 64 side by side.
///
/// In place, the tile reads 8 filter rows at once, and on layers whose weights outweigh
/// their activations (ResNet-50's 14×14 and 7×7 maps, up to 9.4 MB) each weight serves
/// only a few pixel panels, so those reads set the pace; packed, they are one sequential
/// stream. Packing costs a pass over the weights, so it is done once per prepared layer
/// (``CPUPreparedConvolution``), as a network's weights are, never per call.
final class PackedGEMMWeights: @unchecked Sendable {
    /// The packed floats, `groups · floatsPerGroup`; immutable after `init`.
    let storage: UnsafeMutablePointer<Float>
    /// Packed floats per group.
    let floatsPerGroup: Int

    /// Packs `weights` for `geometry`, or nil where this CPU's tile reads weights in place.
    init?(_ geometry: ConvolutionGeometry, weights: UnsafeBufferPointer<Float>) {
        let kg = geometry.outputChannelsPerGroup, depth = geometry.reductionLength
        let pixels = geometry.output.height * geometry.output.width
        floatsPerGroup = ck_gemm_packed_weights_floats(kg, depth, pixels)
        guard floatsPerGroup > 0, let base = weights.baseAddress else { return nil }
        storage = .allocateCacheAligned(geometry.groups * floatsPerGroup)
        for group in 0..<geometry.groups {
            ck_pack_gemm_weights(base + group * kg * depth, kg, depth, pixels, storage + group * floatsPerGroup)
        }
    }

    deinit { UnsafeMutableRawPointer(storage).deallocate() }
}

/// One layer's Winograd-transformed filters `U = G g Gᵀ` (`ck_winograd_transform_weights`:
/// per group `[ξ][k][c]`, 16·K·Cg floats; for 5×5 filters `ck_winograd5_transform_weights`,
/// 36·Cg·16 floats per block of 16 filters), computed once per prepared layer.
///
/// A one-shot Winograd call transforms its weights every time (27% of a 3×3 512@7 call:
/// 9.4 MB read, 16.8 MB written); a prepared layer's weights do not change, so the
/// transform is done once, as for ``PackedGEMMWeights``.
final class WinogradWeights: @unchecked Sendable {
    /// The transformed floats, `groups · 16 · Kg · Cg`; immutable after `init`.
    let storage: UnsafeMutablePointer<Float>

    init?(_ geometry: ConvolutionGeometry, weights: UnsafeBufferPointer<Float>) {
        guard let base = weights.baseAddress else { return nil }
        let kg = geometry.outputChannelsPerGroup, cg = geometry.inputChannelsPerGroup
        if geometry.kernel.height == 5 {
            storage = .allocateCacheAligned(geometry.groups * Self.floatsPerGroup5(geometry))
            Self.transform5(geometry, weights: base, into: storage)
            return
        }
        storage = .allocateCacheAligned(geometry.groups * 16 * kg * cg)
        for group in 0..<geometry.groups {
            ck_winograd_transform_weights(base + group * kg * cg * 9, Int32(kg), Int32(cg), 0, Int32(kg),
                                          storage + group * 16 * kg * cg)
        }
    }

    deinit { UnsafeMutableRawPointer(storage).deallocate() }

    /// Floats of one group's F(2×2, 5×5) transform (`ck_winograd5_weights_floats`).
    static func floatsPerGroup5(_ geometry: ConvolutionGeometry) -> Int {
        ck_winograd5_weights_floats(Int32(geometry.inputChannelsPerGroup), Int32(geometry.outputChannelsPerGroup))
    }

    /// The F(2×2, 5×5) transform of every group's filters into `u`, groups
    /// ``floatsPerGroup5(_:)`` apart: once for a prepared layer, per call for a one-shot one.
    static func transform5(_ geometry: ConvolutionGeometry, weights: UnsafePointer<Float>,
                           into u: UnsafeMutablePointer<Float>) {
        let cg = geometry.inputChannelsPerGroup, kg = geometry.outputChannelsPerGroup
        let perGroup = floatsPerGroup5(geometry)
        for group in 0..<geometry.groups {
            ck_winograd5_transform_weights(weights + group * kg * cg * 25, Int32(cg), Int32(kg), u + group * perGroup)
        }
    }
}

extension UnsafeMutablePointer<Float> {
    /// `count` floats starting on a cache line: the kernels' 64-byte weight loads then never
    /// straddle two lines (`allocate(capacity:)` aligns to 16 bytes, and large blocks from
    /// glibc start 16 bytes into a page). Free with `UnsafeMutableRawPointer(_:).deallocate()`.
    static func allocateCacheAligned(_ count: Int) -> UnsafeMutablePointer<Float> {
        UnsafeMutableRawPointer.allocate(byteCount: count * MemoryLayout<Float>.stride, alignment: 64)
            .bindMemory(to: Float.self, capacity: count)
    }
}
