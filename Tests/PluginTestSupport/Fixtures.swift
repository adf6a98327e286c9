import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The fixture plugins, built once per test process by `make` (incremental).
public enum Fixtures {
    /// The repository's root folder.
    public static let repositoryRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }  // file, PluginTestSupport, Tests
        return url.path
    }()

    /// Where the fixture .so files are, after building them.
    public static let directory: String = {
        let out = repositoryRoot + "/.build/fixtures"
        make(["-C", repositoryRoot + "/Tests/Fixtures", "OUT=" + out], what: "the fixture plugins")
        return out
    }()

    /// The example plugins folder (`plugins/`), after building the examples in it.
    public static let examples: String = {
        _ = directory  // one build at a time: both share the Swift SDK archive in .build/plugin-sdk
        make(["-C", repositoryRoot + "/plugins"], what: "the example plugins")
        return repositoryRoot + "/plugins"
    }()

    /// Runs `make` under an exclusive lock on `.build/fixtures.lock`: the test process and
    /// the child processes of exit tests (which build the fixtures on first use too) would
    /// otherwise build the same files at once and rename them from under each other.
    private static func make(_ arguments: [String], what: String) {
        try? FileManager.default.createDirectory(atPath: repositoryRoot + "/.build", withIntermediateDirectories: true)
        let lock = open(repositoryRoot + "/.build/fixtures.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        if lock >= 0 { flock(lock, LOCK_EX) }
        defer { if lock >= 0 { close(lock) } }
        let make = Process()
        make.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        make.arguments = ["make", "-s"] + arguments
        try! make.run()
        make.waitUntilExit()
        precondition(make.terminationStatus == 0, "building \(what) failed")
    }

    /// The path of fixture library `name` (e.g. `librecorder.so`).
    public static func library(_ name: String) -> String { directory + "/" + name }
}
