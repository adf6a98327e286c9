import Foundation

/// A temporary plugins folder of copies of the noop fixture.
final class BenchFolder {
    let path: String
    private let fixtures: String

    init(fixtures: String) throws {
        self.fixtures = fixtures
        path = NSTemporaryDirectory() + "plughost-bench-" + String(UInt64.random(in: 0...UInt64.max), radix: 36)
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    /// Adds alias `alias` backed by a copy of libnoop.so named `library` (copied once).
    func addNoop(alias: String, library: String) throws {
        let target = path + "/" + library
        if !FileManager.default.fileExists(atPath: target) {
            try FileManager.default.copyItem(atPath: fixtures + "/libnoop.so", toPath: target)
        }
        let manifest = "[plugin]\nname = \"\(alias)\"\nversion = \"1.0.0\"\n[entry-points.\"plughost.plugins\"]\n\(alias) = \"\(library):noop_entry\"\n"
        try manifest.write(toFile: path + "/\(alias).toml", atomically: true, encoding: .utf8)
    }
}
