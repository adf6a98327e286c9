import PluginRuntime
import PluginTestSupport
import Testing

@Suite("Manifests and host config")
struct ManifestTests {
    @Test("a manifest lists its entry points by namespace, sorted")
    func parsesEntryPoints() throws {
        let folder = PluginFolder()
        folder.write("pkg.toml", """
            [plugin]
            name = "pkg"
            version = "1.2.3"
            [entry-points."plughost.plugins"]
            zeta = "libz.so:z_entry"
            alpha = "sub/liba.so:a_entry"
            [entry-points."other.ns"]
            beta = "libb.so:b_entry"
            """)
        let manifest = try PluginManifest.load(path: folder.path + "/pkg.toml")
        #expect(manifest.name == "pkg" && manifest.version == "1.2.3")
        #expect(manifest.entryPoints.map(\.alias) == ["beta", "alpha", "zeta"])
        #expect(manifest.entryPoints.map(\.namespace) == ["other.ns", "plughost.plugins", "plughost.plugins"])
        #expect(manifest.entryPoints[1].library == "sub/liba.so" && manifest.entryPoints[1].symbol == "a_entry")
        #expect(manifest.problems.isEmpty)
    }

    @Test("invalid TOML names the file and the line")
    func invalidTOML() {
        let folder = PluginFolder()
        folder.write("bad.toml", "[plugin]\nname = \"x\nversion = 1\n")
        #expect {
            try PluginManifest.load(path: folder.path + "/bad.toml")
        } throws: { error in
            let error = error as! PluginError
            return error.code == .invalidManifest && error.description.contains("bad.toml")
                && error.reason.contains("not valid TOML") && error.reason.contains("line 2")
        }
    }

    @Test("a manifest without [plugin] or entry points is refused", arguments: [
        ("[entry-points.\"plughost.plugins\"]\na = \"liba.so:e\"\n", "missing [plugin]"),
        ("[plugin]\nname = \"x\"\nversion = \"1\"\n", "missing [entry-points"),
        ("[plugin]\nname = \"x\"\n[entry-points.\"n\"]\na = \"liba.so:e\"\n", "version"),
        ("[plugin]\nname = \"x\"\nversion = \"1\"\nextra = 1\n[entry-points.\"n\"]\na = \"l.so:e\"\n[other]\n", "unknown top-level key 'other'"),
    ])
    func structuralProblems(text: String, expected: String) {
        let folder = PluginFolder()
        folder.write("m.toml", text)
        #expect {
            try PluginManifest.load(path: folder.path + "/m.toml")
        } throws: { error in
            (error as! PluginError).reason.contains(expected)
        }
    }

    @Test("a malformed entry is reported with its alias while the others stay")
    func malformedEntry() throws {
        let folder = PluginFolder()
        folder.write("m.toml", """
            [plugin]
            name = "x"
            version = "1"
            [entry-points."plughost.plugins"]
            good = "libgood.so:good_entry"
            nocolon = "libfoo.so"
            badsym = "libfoo.so:1abc"
            number = 42
            """)
        let manifest = try PluginManifest.load(path: folder.path + "/m.toml")
        #expect(manifest.entryPoints.map(\.alias) == ["good"])
        let byAlias = Dictionary(uniqueKeysWithValues: manifest.problems.map { ($0.alias!, $0.reason) })
        #expect(byAlias["nocolon"]?.contains("LIBRARY:SYMBOL") == true)
        #expect(byAlias["badsym"]?.contains("not a C identifier") == true)
        #expect(byAlias["number"]?.contains("found a integer") == true)
    }

    @Test("the host config reads namespaces, enabled aliases in order and plugin tables")
    func hostConfig() throws {
        let folder = PluginFolder()
        folder.write("host.toml", """
            [host]
            namespaces = ["a.ns", "b.ns"]
            enabled = ["second", "first"]
            cache-entries = 7
            [plugin.first]
            level = "debug"
            limits = { max = 3 }
            """)
        let config = try HostConfig.load(path: folder.path + "/host.toml")
        #expect(config.namespaces == ["a.ns", "b.ns"])
        #expect(config.enabled == ["second", "first"])
        #expect(config.cacheEntriesPerPlugin == 7)
        #expect(config.pluginConfigs["first"]?["limits"] == .table(["max": .integer(3)]))
    }

    @Test("a host config with an unknown or mistyped key names it", arguments: [
        ("[host]\nenable = [\"a\"]\n", "host.enable"),
        ("[host]\nenabled = \"a\"\n", "host.enabled must be an array"),
        ("[host]\nenabled = [\"a\", \"a\"]\n", "lists 'a' twice"),
        ("plugins = 1\n", "unknown top-level key 'plugins'"),
        ("[plugin]\nfoo = 1\n", "[plugin.foo] must be a table"),
    ])
    func badHostConfig(text: String, expected: String) {
        let folder = PluginFolder()
        folder.write("host.toml", text)
        #expect {
            try HostConfig.load(path: folder.path + "/host.toml")
        } throws: { error in
            let error = error as! PluginError
            return error.code == .invalidHostConfig && error.reason.contains(expected) && error.file.hasSuffix("host.toml")
        }
    }
}
