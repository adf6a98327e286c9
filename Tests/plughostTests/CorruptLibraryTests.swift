import Foundation
import PluginTestSupport
import Testing

@Suite("plughost check never loads plugin code in its own process")
struct CorruptLibraryTests {
    /// SplitMix64: the same corruptions on every run.
    private struct Random {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    @Test("1,000 copies of a plugin with 1 to 4 random bytes changed: check reports each, and never dies")
    func corruptedCopies() throws {
        let folder = PluginFolder()
        let original = try [UInt8](Data(contentsOf: URL(fileURLWithPath: Fixtures.library("versioned/v1/libversioned.so"))))
        var random = Random(state: 0x5EED_2026)
        var paths: [String] = []
        for index in 0..<1000 {
            var bytes = original
            for _ in 0..<(1 + Int(random.next() % 4)) {
                bytes[Int(random.next() % UInt64(bytes.count))] = UInt8(truncatingIfNeeded: random.next())
            }
            let name = "copy\(index)"
            folder.manifest("\(name)/\(name).toml", name: name, [(name, "lib\(name).so:versioned_entry")])
            FileManager.default.createFile(atPath: folder.path + "/\(name)/lib\(name).so", contents: Data(bytes),
                                           attributes: [.posixPermissions: 0o644])
            paths.append(folder.path + "/" + name)
        }
        let started = Date()
        let result = try Plughost.run(["check"] + paths)
        let lines = result.output.split(separator: "\n")
        let ok = lines.filter { $0.hasPrefix("ok ") }.count
        let failed = lines.filter { $0.hasPrefix("FAIL ") }.count
        let crashes = lines.filter { $0.hasPrefix("FAIL ") && $0.contains("while loading") }.count
        print("check of 1,000 corrupted copies: \(ok) ok, \(failed) refused (\(crashes) of them crashed a check process) in \(Int(Date().timeIntervalSince(started))) s")
        // The checker itself exited with its verdict: 1 (problems found), never a signal.
        #expect(result.status == 1, "\(result.status): \(lines.suffix(5))")
        #expect(lines.last?.hasSuffix("problem(s)") == true, "\(lines.suffix(5))")
        // Every copy got its own line.
        #expect(ok + failed >= 1000, "\(ok) ok + \(failed) failed")
    }
}
