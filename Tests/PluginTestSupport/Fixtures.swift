import Foundation

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
        let make = Process()
        make.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        make.arguments = ["make", "-s", "-C", repositoryRoot + "/Tests/Fixtures", "OUT=" + out]
        try! make.run()
        make.waitUntilExit()
        precondition(make.terminationStatus == 0, "building the fixture plugins failed")
        return out
    }()

    /// The path of fixture library `name` (e.g. `librecorder.so`).
    public static func library(_ name: String) -> String { directory + "/" + name }
}
