import Testing

/// Records one issue for the first element whose bits differ (any NaN equals any NaN),
/// with the count of differing elements.
func expectIdentical(_ output: [Float], _ expected: [Float], _ context: @autoclosure () -> String,
                     sourceLocation: SourceLocation = #_sourceLocation) {
    let differing = output.indices.filter {
        output[$0].bitPattern != expected[$0].bitPattern && !(output[$0].isNaN && expected[$0].isNaN)
    }
    guard let first = differing.first else { return }
    Issue.record(Comment(rawValue: "\(differing.count) of \(output.count) elements differ; first at \(first): got "
                         + "\(output[first]), expected \(expected[first]) — \(context())"), sourceLocation: sourceLocation)
}

/// Records one issue for the first element more than `ulps` units in the last place from
/// `expected` (NaN must meet NaN, infinities must be equal).
func expectWithinUlps(_ output: [Float], _ expected: [Float], _ ulps: Int, _ context: @autoclosure () -> String,
                      sourceLocation: SourceLocation = #_sourceLocation) {
    func ordered(_ x: Float) -> Int64 {
        let bits = Int64(Int32(bitPattern: x.bitPattern))
        return bits < 0 ? Int64(Int32.min) - bits : bits
    }
    for index in output.indices {
        let got = output[index], want = expected[index]
        let close = (got.isNaN && want.isNaN) || got == want
            || (!got.isNaN && !want.isNaN && abs(ordered(got) - ordered(want)) <= Int64(ulps))
        if !close {
            Issue.record(Comment(rawValue: "element \(index): got \(got), expected \(want) within \(ulps) ulps — \(context())"),
                         sourceLocation: sourceLocation)
            return
        }
    }
}
