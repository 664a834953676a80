/// The three fields of a `.npy` header dictionary.
///
/// The header is a Python literal such as
/// `{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }`; this parser accepts
/// exactly the subset NumPy writes (quoted keys, a string, a boolean, a tuple of ints).
struct NPYHeader {
    var descr: String
    var fortranOrder: Bool
    var shape: [Int]

    init(parsing text: String, path: String) throws {
        func fail(_ detail: String) -> NPYError { .malformedHeader(path: path, detail: detail) }
        let body = text.trimmingCharacters(in: " \n\0")
        guard body.hasPrefix("{"), body.hasSuffix("}") else { throw fail("expected a {...} dictionary") }
        func value(of key: String) throws -> Substring {
            for quote in ["'", "\""] {
                if let range = body.range(of: "\(quote)\(key)\(quote)") {
                    var rest = body[range.upperBound...].drop { $0 == " " }
                    guard rest.first == ":" else { throw fail("no ':' after '\(key)'") }
                    rest = rest.dropFirst().drop { $0 == " " }
                    return rest
                }
            }
            throw fail("missing key '\(key)'")
        }
        let descrText = try value(of: "descr")
        guard let quote = descrText.first, quote == "'" || quote == "\"",
              let end = descrText.dropFirst().firstIndex(of: quote) else { throw fail("'descr' is not a string") }
        descr = String(descrText[descrText.index(after: descrText.startIndex)..<end])
        let orderText = try value(of: "fortran_order")
        if orderText.hasPrefix("False") {
            fortranOrder = false
        } else if orderText.hasPrefix("True") {
            fortranOrder = true
        } else {
            throw fail("'fortran_order' is not True or False")
        }
        let shapeText = try value(of: "shape")
        guard shapeText.first == "(", let close = shapeText.firstIndex(of: ")") else { throw fail("'shape' is not a tuple") }
        let inner = shapeText[shapeText.index(after: shapeText.startIndex)..<close]
        var dimensions: [Int] = []
        for part in inner.split(separator: ",") {
            let trimmed = part.trimmingCharacters(in: " L")
            if trimmed.isEmpty { continue }
            guard let dimension = Int(trimmed) else { throw fail("shape entry '\(trimmed)' is not an integer") }
            dimensions.append(dimension)
        }
        shape = dimensions
    }
}

private extension StringProtocol {
    func trimmingCharacters(in set: String) -> String {
        let characters = Set(set)
        var slice = Substring(self)
        while let first = slice.first, characters.contains(first) { slice = slice.dropFirst() }
        while let last = slice.last, characters.contains(last) { slice = slice.dropLast() }
        return String(slice)
    }
}
