import Foundation
@testable import PluginRuntime
import PluginTestSupport
import Testing

/// OpenSSH's StrictModes for what the host loads: each case makes one file or
/// folder unsafe and expects a refusal naming the path and its mode or owner,
/// and a load with `strict-permissions = false`.
@Suite("Strict permissions on plugin files and folders")
struct FilePermissionTests {
    /// A folder `plugins/` inside a private parent, with one noop plugin.
    private struct Layout {
        let parent = PluginFolder()
        var plugins: String { parent.path + "/plugins" }
        var library: String { plugins + "/libnoop.so" }
        var manifest: String { plugins + "/noop.toml" }

        init() {
            try! FileManager.default.createDirectory(atPath: plugins, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
            try! FileManager.default.copyItem(atPath: Fixtures.library("libnoop.so"), toPath: library)
            chmod(library, 0o755)
            let text = "[plugin]\nname = \"noop\"\nversion = \"1\"\n[entry-points.\"plughost.plugins\"]\nnoop = \"libnoop.so:noop_entry\"\n"
            FileManager.default.createFile(atPath: manifest, contents: Data(text.utf8), attributes: [.posixPermissions: 0o644])
        }

        func check(strict: Bool) -> [PluginStatus] {
            var config = HostConfig()
            config.strictPermissions = strict
            return PluginChecker.check(path: plugins, config: config)
        }
    }

    @Test("a world-writable plugins folder is refused with its path and mode")
    func worldWritableFolder() {
        let layout = Layout()
        chmod(layout.plugins, 0o777)
        let problems = layout.check(strict: true).compactMap(\.error)
        #expect(problems.count == 1)
        #expect(problems.first?.code == .unsafePermissions)
        #expect(problems.first?.reason.contains("\(layout.plugins) is writable by everyone (mode 0777") == true, "\(problems)")
        #expect(layout.check(strict: false).contains { $0.state == .loaded && $0.alias == "noop" })
    }

    @Test("a group-writable library is refused naming the library and its mode")
    func groupWritableLibrary() {
        let layout = Layout()
        chmod(layout.library, 0o775)
        let error = layout.check(strict: true).of("noop")?.error
        #expect(error?.code == .unsafePermissions)
        #expect(error?.reason.contains("\(layout.library) is writable by its group (mode 0775") == true, "\(String(describing: error))")
        #expect(layout.check(strict: false).of("noop")?.state == .loaded)
    }

    @Test("a manifest owned by another user is refused naming its owner",
          .enabled(if: geteuid() == 0, "only root can give a file to another user"))
    func foreignManifest() {
        let layout = Layout()
        chown(layout.manifest, 65534, 65534)
        let problems = layout.check(strict: true).compactMap(\.error)
        #expect(problems.contains { $0.code == .unsafePermissions && $0.reason.contains("\(layout.manifest) is owned by uid 65534") }, "\(problems)")
        #expect(layout.check(strict: false).of("noop")?.state == .loaded)
    }

    @Test("a folder above the plugins folder that others can write is refused; a root-owned sticky one like /tmp is not")
    func writableParent() {
        let layout = Layout()
        chmod(layout.parent.path, 0o777)
        let problems = layout.check(strict: true).compactMap(\.error)
        #expect(problems.contains { $0.reason.contains("\(layout.parent.path) is writable by everyone (mode 0777") }, "\(problems)")
        chmod(layout.parent.path, 0o1777)  // sticky, but owned by this user rather than root: still refused unless root
        let sticky = layout.check(strict: true)
        if geteuid() == 0 {
            #expect(sticky.of("noop")?.state == .loaded, "a root-owned sticky parent is safe: \(sticky.compactMap(\.error))")
        }
        chmod(layout.parent.path, 0o700)
        #expect(layout.check(strict: true).of("noop")?.state == .loaded)
    }

    @Test("a symlink on the way, in a folder others can write, is refused even though its target is safe")
    func symlinkInWritableFolder() throws {
        let layout = Layout()
        let shared = PluginFolder()
        chmod(shared.path, 0o777)
        let link = shared.path + "/plugins"
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: layout.plugins)
        var config = HostConfig()
        config.strictPermissions = true
        let problems = PluginChecker.check(path: link, config: config).compactMap(\.error)
        #expect(problems.contains { $0.code == .unsafePermissions && $0.reason.contains("\(shared.path) is writable by everyone (mode 0777, owner uid \(geteuid())), on the way to \(link)") }, "\(problems)")
    }

    @Test("a plugin config key holding a NUL character is refused (plugins read keys as C strings)")
    func nulInConfigKey() throws {
        let folder = PluginFolder()
        folder.write("host.toml", "[plugin.x]\n\"a\\u0000b\" = 1\n")
        #expect(throws: PluginError.self) { try HostConfig.load(path: folder.path + "/host.toml") }
    }

    @Test("a group-writable host config is refused before it is read, even when it says strict-permissions = false")
    func writableHostConfig() throws {
        let folder = PluginFolder()
        folder.write("host.toml", "[host]\nenabled = []\nstrict-permissions = false\n")
        chmod(folder.path + "/host.toml", 0o664)
        do {
            _ = try HostConfig.load(path: folder.path + "/host.toml")
            Issue.record("a group-writable config that turns the checks off was accepted")
        } catch {
            #expect(error.code == .unsafePermissions && error.reason.contains("mode 0664"), "\(error)")
        }
        // Only the caller (plughost --unsafe-permissions) can skip the check; the file's own key then holds too.
        let relaxed = try HostConfig.load(path: folder.path + "/host.toml", checkingPermissions: false)
        #expect(!relaxed.strictPermissions && !relaxed.checksOwnPermissions)
        chmod(folder.path + "/host.toml", 0o644)
        #expect(try HostConfig.load(path: folder.path + "/host.toml").strictPermissions == false)
    }
}

@Suite("The shadow folder")
struct ShadowFolderTests {
    @Test("a shadow folder removed under a running host is made again at the next load")
    func recreatedWhenRemoved() throws {
        let base = PluginFolder()
        let folder = try ShadowFolder.current(stateDirectory: base.path)
        #expect(folder == base.path + "/plughost-shadow-\(getpid())")
        FileSystem.removeTree(folder)
        let copy = try ShadowCopy.make(of: Fixtures.library("libnoop.so"), stateDirectory: base.path, inMemory: false)
        defer { copy.removeFile() }
        #expect(copy.descriptor == nil)
        #expect(FileManager.default.fileExists(atPath: copy.path))
        var info = stat()
        #expect(stat(folder, &info) == 0 && info.st_mode & 0o777 == 0o700)
    }

    @Test("shadow folders of this user's processes that no longer exist are removed; live ones stay")
    func staleFoldersRemoved() throws {
        let base = PluginFolder()
        let dead = base.path + "/plughost-shadow-\(Int32.max - 7)"
        let alive = base.path + "/plughost-shadow-\(getppid())"
        for folder in [dead, alive] {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: false)
            FileManager.default.createFile(atPath: folder + "/1-libx.so", contents: Data([1]))
        }
        ShadowFolder.removeStale(in: base.path)
        #expect(!FileManager.default.fileExists(atPath: dead))
        #expect(FileManager.default.fileExists(atPath: alive))
    }

    @Test("a shadow folder someone else prepared is refused, not used")
    func foreignFolderRefused() throws {
        let base = PluginFolder()
        let planted = base.path + "/plughost-shadow-\(getpid())"
        try FileManager.default.createDirectory(atPath: planted, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o777])
        chmod(planted, 0o777)
        #expect(throws: FileSystem.Failure.self) { try ShadowFolder.current(stateDirectory: base.path) }
    }

    @Test("by default a copy lives in sealed memory: no folder, no write after the check, the library loads from it")
    func inMemoryCopy() throws {
        let base = PluginFolder()
        let copy = try ShadowCopy.make(of: Fixtures.library("libnoop.so"), stateDirectory: base.path, inMemory: true)
        let descriptor = try #require(copy.descriptor)
        defer { close(descriptor) }
        #expect(copy.path == "/proc/self/fd/\(descriptor)")
        #expect(copy.folder == nil)
        #expect(!FileManager.default.fileExists(atPath: base.path + "/plughost-shadow-\(getpid())"))
        // Sealed: the bytes that were hashed are the bytes dlopen maps.
        var byte: UInt8 = 0
        #expect(pwrite(descriptor, &byte, 1, 0) == -1 && errno == EPERM)
        #expect(ftruncate(descriptor, 0) == -1 && errno == EPERM)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: copy.path))
        #expect(bytes == (try Data(contentsOf: URL(fileURLWithPath: Fixtures.library("libnoop.so")))))
    }

    @Test("the in-memory copy of a C library is closed when the library is unloaded, not before")
    func descriptorClosedAtUnload() throws {
        // A name of its own, so the memfd's /proc name tells this copy from any other test's.
        let folder = PluginFolder()
        let name = "libfd\(UInt32.random(in: 0...UInt32.max)).so"
        try FileManager.default.copyItem(atPath: Fixtures.library("libnoop.so"), toPath: folder.path + "/" + name)
        let library = try PluginLibrary.open(path: folder.path + "/" + name, alias: "noop", policy: LoadPolicy(HostConfig()))
        let descriptor = try #require(library.shadowDescriptor)
        func target() -> String? {
            var buffer = [CChar](repeating: 0, count: 512)
            let count = readlink("/proc/self/fd/\(descriptor)", &buffer, buffer.count - 1)
            return count < 0 ? nil : String(decoding: buffer[..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
        #expect(target()?.contains("plughost:" + name) == true, "\(target() ?? "closed")")
        #expect(library.release() == .unloaded)
        #expect(target()?.contains("plughost:" + name) != true, "still open after dlclose")
    }
}
