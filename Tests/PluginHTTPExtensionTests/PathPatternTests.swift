@testable import PluginHTTPExtension
import Testing

@Suite("Path patterns and percent-decoding")
struct PathPatternTests {
    @Test("patterns parse into literal and capture segments; their shape ignores capture names")
    func parsing() throws {
        let pattern = try PathPattern.parse("/calc/add/:a/:b").get()
        #expect(pattern.segments == [.literal("calc"), .literal("add"), .capture("a"), .capture("b")])
        #expect(pattern.captureNames == ["a", "b"])
        #expect(pattern.shape == "/calc/add/:/:")
        #expect(try PathPattern.parse("/calc/add/:x/:y").get().shape == pattern.shape)
        #expect(try PathPattern.parse("/").get().segments.isEmpty)
    }

    @Test("bad patterns are refused with a reason", arguments: ["calc", "/a/:", "/a/:x/:x", "/a?b", "/a#b", "/a b"])
    func refused(text: String) {
        guard case .failure(let error) = PathPattern.parse(text) else {
            Issue.record("'\(text)' was accepted")
            return
        }
        #expect(!error.reason.isEmpty)
    }

    @Test("matching needs the same number of segments and equal literals; captures are the exact decoded bytes")
    func matching() throws {
        let pattern = try PathPattern.parse("/files/:name/raw").get()
        #expect(pattern.match(["files", "a%00b", "raw"])?.first?.1 == [0x61, 0, 0x62])
        #expect(pattern.match(["files", "%FF", "raw"])?.first?.1 == [0xFF])
        #expect(pattern.match(["files", "x"]) == nil)
        #expect(pattern.match(["file", "x", "raw"]) == nil)
        #expect(pattern.match(["files", "x", "raw", "more"]) == nil)
    }

    @Test("percent-decoding keeps invalid escapes as they are and decodes + only in queries", arguments: [
        ("a%20b", false, Array("a b".utf8)), ("a+b", false, Array("a+b".utf8)), ("a+b", true, Array("a b".utf8)),
        ("%", false, Array("%".utf8)), ("%4", false, Array("%4".utf8)), ("%G1", false, Array("%G1".utf8)),
        ("%41%42", false, Array("AB".utf8)), ("%00", false, [0]), ("100%", false, Array("100%".utf8)),
    ] as [(String, Bool, [UInt8])])
    func decoding(text: String, plusIsSpace: Bool, expected: [UInt8]) {
        #expect(PercentDecoding.decodeBytes(text.utf8, plusIsSpace: plusIsSpace) == expected)
        // The in-place decoder used for request storage gives the same bytes.
        let inPlace = Array(text.utf8).withUnsafeBufferPointer { source in
            [UInt8](unsafeUninitializedCapacity: source.count) { output, count in
                count = PercentDecoding.decode(source, plusIsSpace: plusIsSpace, into: output.baseAddress!)
            }
        }
        #expect(inPlace == expected)
    }

    @Test("queries split on & and the first =, each part decoded to bytes")
    func queries() {
        var query: [(name: [UInt8], value: [UInt8])] = []
        Array("a=1&b=x%3Dy=z&flag&&c=%00&=v".utf8).withUnsafeBufferPointer { bytes in
            QueryString.forEachPair(in: bytes) { name, value in
                query.append((PercentDecoding.decodeBytes(name, plusIsSpace: true), PercentDecoding.decodeBytes(value, plusIsSpace: true)))
            }
        }
        #expect(query.map(\.name) == [Array("a".utf8), Array("b".utf8), Array("flag".utf8), Array("c".utf8), []])
        #expect(query.map(\.value) == [Array("1".utf8), Array("x=y=z".utf8), [], [0], Array("v".utf8)])
    }

    @Test("empty segments: detection and merging", arguments: [
        ("/", false, "/"), ("/a/b", false, "/a/b"), ("//a", true, "/a"), ("/a//b", true, "/a/b"), ("/a/", true, "/a"), ("///", true, "/"),
    ] as [(String, Bool, String)])
    func emptySegments(path: String, hasEmpty: Bool, merged: String) {
        #expect(PluginHTTPRequest.hasEmptySegments(path) == hasEmpty)
        #expect(PluginHTTPRequest.mergingSlashes(path) == merged)
    }
}
