import Foundation

/// A float32 array read from or written to NumPy's `.npy` format.
///
/// Reads versions 1.0–3.0 with dtype `<f4`, or `<f8` converted to float32, in C order.
/// Writes version 1.0 `<f4`, through a temporary file renamed into place, so a failure
/// never leaves a partial file behind.
public struct NPYArray: Hashable, Sendable {
    /// The dimensions, outermost first (empty for a scalar).
    public var shape: [Int]
    /// The elements in C (row-major) order.
    public var scalars: [Float]

    /// Creates an array from its shape and elements.
    public init(shape: [Int], scalars: [Float]) {
        self.shape = shape
        self.scalars = scalars
    }

    /// Reads a `.npy` file.
    ///
    /// - Parameter path: The file to read.
    /// - Throws: ``NPYError`` naming the file and what was wrong with it.
    public init(contentsOf path: String) throws {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw NPYError.unreadable(path: path, reason: (error as NSError).localizedDescription)
        }
        self = try NPYArray.parse(data, path: path)
    }

    /// Parses the bytes of a `.npy` file.
    ///
    /// - Parameters:
    ///   - data: The whole file.
    ///   - path: The name used in error messages.
    /// - Throws: ``NPYError``.
    public static func parse(_ data: Data, path: String) throws -> NPYArray {
        let bytes = [UInt8](data)
        let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]
        guard bytes.count >= 8, Array(bytes[0..<6]) == magic else { throw NPYError.notNPY(path: path) }
        let (major, minor) = (bytes[6], bytes[7])
        let lengthBytes: Int
        switch (major, minor) {
        case (1, 0): lengthBytes = 2
        case (2, 0), (3, 0): lengthBytes = 4
        default: throw NPYError.unsupportedVersion(path: path, major: major, minor: minor)
        }
        guard bytes.count >= 8 + lengthBytes else {
            throw NPYError.malformedHeader(path: path, detail: "file ends inside the header length")
        }
        var headerLength = 0
        for index in (0..<lengthBytes).reversed() { headerLength = headerLength << 8 | Int(bytes[8 + index]) }
        let headerStart = 8 + lengthBytes
        guard bytes.count >= headerStart + headerLength else {
            throw NPYError.malformedHeader(path: path, detail: "file ends inside the \(headerLength)-byte header")
        }
        guard let header = String(bytes: bytes[headerStart..<headerStart + headerLength], encoding: .utf8) else {
            throw NPYError.malformedHeader(path: path, detail: "header is not UTF-8 text")
        }
        let fields = try NPYHeader(parsing: header, path: path)
        guard !fields.fortranOrder else { throw NPYError.fortranOrder(path: path) }
        let elementSize: Int
        switch fields.descr {
        case "<f4": elementSize = 4
        case "<f8": elementSize = 8
        default: throw NPYError.unsupportedDType(path: path, found: fields.descr)
        }
        var count = 1
        for dimension in fields.shape {
            let (product, overflow) = count.multipliedReportingOverflow(by: dimension)
            guard dimension >= 0, !overflow else {
                throw NPYError.malformedHeader(path: path, detail: "shape \(fields.shape) is not a valid size")
            }
            count = product
        }
        let payload = bytes.count - headerStart - headerLength
        let (expected, overflow) = count.multipliedReportingOverflow(by: elementSize)
        guard !overflow, payload == expected else {
            throw NPYError.dataSizeMismatch(path: path, expectedBytes: overflow ? Int.max : expected, actualBytes: payload)
        }
        let start = headerStart + headerLength
        let scalars: [Float] = bytes.withUnsafeBytes { raw in
            let body = UnsafeRawBufferPointer(rebasing: raw[start...])
            if elementSize == 4 {
                return (0..<count).map { Float(bitPattern: UInt32(littleEndian: body.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self))) }
            }
            return (0..<count).map { Float(Double(bitPattern: UInt64(littleEndian: body.loadUnaligned(fromByteOffset: $0 * 8, as: UInt64.self)))) }
        }
        return NPYArray(shape: fields.shape, scalars: scalars)
    }

    /// The bytes of a version 1.0 `<f4` file holding this array.
    public func encoded() -> Data {
        let shapeText = shape.count == 1 ? "(\(shape[0]),)" : "(\(shape.map(String.init).joined(separator: ", ")))"
        var header = "{'descr': '<f4', 'fortran_order': False, 'shape': \(shapeText), }"
        // The format wants magic + length + header + newline to be a multiple of 64 bytes.
        let unpadded = 10 + header.utf8.count + 1
        header += String(repeating: " ", count: (64 - unpadded % 64) % 64) + "\n"
        var data = Data([0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0])
        let length = UInt16(header.utf8.count)
        data.append(contentsOf: [UInt8(length & 0xFF), UInt8(length >> 8)])
        data.append(contentsOf: Array(header.utf8))
        scalars.withUnsafeBufferPointer { buffer in
            for value in buffer {
                let bits = value.bitPattern.littleEndian
                withUnsafeBytes(of: bits) { data.append(contentsOf: $0) }
            }
        }
        return data
    }

    /// Writes the array atomically: to a temporary file beside `path`, then renamed.
    ///
    /// - Parameter path: The destination; replaced if it exists.
    /// - Throws: ``NPYError/writeFailed(path:reason:)``.
    public func write(to path: String) throws {
        let url = URL(fileURLWithPath: path)
        do {
            try encoded().write(to: url, options: .atomic)
        } catch {
            throw NPYError.writeFailed(path: path, reason: (error as NSError).localizedDescription)
        }
    }
}
