import ConvKit
import Foundation
import Testing

@Suite("NPY files")
struct NPYTests {
    /// Builds a file by hand, so the reader is checked against bytes it did not write.
    static func file(version: (UInt8, UInt8) = (1, 0), header: String, payload: [UInt8]) -> Data {
        var header = header
        let lengthBytes = version.0 == 1 ? 2 : 4
        while (6 + 2 + lengthBytes + header.utf8.count + 1) % 64 != 0 { header += " " }
        header += "\n"
        var data = Data([0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, version.0, version.1])
        let length = header.utf8.count
        for index in 0..<lengthBytes { data.append(UInt8((length >> (8 * index)) & 0xFF)) }
        data.append(contentsOf: Array(header.utf8))
        data.append(contentsOf: payload)
        return data
    }

    static func bytes(_ values: [Float]) -> [UInt8] {
        values.flatMap { value in withUnsafeBytes(of: value.bitPattern.littleEndian) { Array($0) } }
    }

    @Test("version 1.0 <f4 as NumPy writes it")
    func readsFloat32() throws {
        let data = Self.file(header: "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1, 2, 2), }",
                             payload: Self.bytes([1, -2, 3.5, 0.25]))
        let array = try NPYArray.parse(data, path: "x.npy")
        #expect(array.shape == [1, 1, 2, 2])
        #expect(array.scalars == [1, -2, 3.5, 0.25])
    }

    @Test("versions 2.0 and 3.0 use a 4-byte header length", arguments: [(UInt8(2), UInt8(0)), (3, 0)])
    func readsLaterVersions(_ major: UInt8, _ minor: UInt8) throws {
        let data = Self.file(version: (major, minor), header: "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }",
                             payload: Self.bytes([7, 8, 9]))
        #expect(try NPYArray.parse(data, path: "v.npy").scalars == [7, 8, 9])
    }

    @Test("<f8 is converted to float32")
    func convertsFloat64() throws {
        let payload = [0.5, -1.25].flatMap { value in withUnsafeBytes(of: value.bitPattern.littleEndian) { Array($0) } }
        let data = Self.file(header: "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }", payload: payload)
        #expect(try NPYArray.parse(data, path: "d.npy").scalars == [0.5, -1.25])
    }

    @Test("what the writer writes, the reader reads back")
    func roundTrip() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("npy-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("t.npy").path
        let tensor = try Tensor(shape: TensorShape(2, 3, 4, 5)) { Float($0) * 0.5 - 7 }
        try NPYArray(tensor).write(to: path)
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        #expect(data.count % 64 == (2 * 3 * 4 * 5 * 4) % 64, "header padded to a multiple of 64 bytes")
        #expect(try NPYArray(contentsOf: path).tensor(path: path, role: "input") == tensor)
    }

    struct Malformed: Sendable, CustomStringConvertible {
        var name: String
        var data: Data
        var message: String
        var description: String { name }
    }

    static let malformed: [Malformed] = [
        .init(name: "not npy", data: Data("hello world, not numpy".utf8),
              message: "m.npy: not a .npy file: expected the magic string \\x93NUMPY at the start"),
        .init(name: "version 4", data: file(version: (4, 0), header: "{}", payload: []),
              message: "m.npy: unsupported .npy format version 4.0: expected 1.0, 2.0 or 3.0"),
        .init(name: "int32", data: file(header: "{'descr': '<i4', 'fortran_order': False, 'shape': (1,), }", payload: [0, 0, 0, 0]),
              message: "m.npy: unsupported dtype '<i4': expected little-endian float32 '<f4' or float64 '<f8'"),
        .init(name: "big endian", data: file(header: "{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }", payload: [0, 0, 0, 0]),
              message: "m.npy: unsupported dtype '>f4': expected little-endian float32 '<f4' or float64 '<f8'"),
        .init(name: "fortran", data: file(header: "{'descr': '<f4', 'fortran_order': True, 'shape': (1,), }", payload: [0, 0, 0, 0]),
              message: "m.npy: Fortran-ordered array: expected C order (numpy.ascontiguousarray)"),
        .init(name: "truncated data", data: file(header: "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }",
                                                  payload: bytes([1, 2, 3])),
              message: "m.npy: data is 12 bytes but the header's shape needs 16 bytes (file truncated or corrupt)"),
        .init(name: "truncated header", data: file(header: "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }",
                                                    payload: []).prefix(30),
              message: "m.npy: malformed .npy header: file ends inside the 118-byte header"),
        .init(name: "no shape", data: file(header: "{'descr': '<f4', 'fortran_order': False, }", payload: []),
              message: "m.npy: malformed .npy header: missing key 'shape'"),
    ]

    @Test("malformed files give one-line errors naming the file", arguments: malformed)
    func rejects(_ bad: Malformed) {
        #expect {
            try NPYArray.parse(bad.data, path: "m.npy")
        } throws: { error in
            (error as? NPYError)?.description == bad.message
        }
    }

    @Test("a tensor file must be 4-D and a bias file 1-D")
    func ranks() {
        let matrix = NPYArray(shape: [2, 2], scalars: [1, 2, 3, 4])
        #expect(throws: NPYError.wrongRank(path: "w.npy", expected: "a 4-D weights array with every dimension ≥ 1", shape: [2, 2])) {
            try matrix.tensor(path: "w.npy", role: "weights")
        }
        #expect(throws: NPYError.wrongRank(path: "b.npy", expected: "a 1-D bias array of shape (K,)", shape: [2, 2])) {
            try matrix.vector(path: "b.npy")
        }
    }
}
