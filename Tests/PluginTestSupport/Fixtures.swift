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
        make(["-C", repositoryRoot + "/Tests/Fixtures", "OUT=" + out], what: "the fixture plugins")
        return out
    }()

    /// The example plugins folder (`plugins/`), after building the examples in it.
    public static let examples: String = {
        _ = directory  // one build at a time: both share the Swift SDK archive in .build/plugin-sdk
        make(["-C", repositoryRoot + "/plugins"], what: "the example plugins")
        return repositoryRoot + "/plugins"
    }()

    private static func make(_ arguments: [String], what: String) {
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
