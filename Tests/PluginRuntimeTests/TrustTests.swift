import Foundation
import Logging
@testable import PluginRuntime
import PluginHTTPExtension
import PluginTestSupport
import Testing

/// A plugins folder whose host config is a file, so reloads read it again.
private struct TrustBench {
    let folder = PluginFolder()
    var configPath: String { folder.path + "/host.toml" }

    /// Installs build `build` ("v1", "v2") of the versioned fixture as `versioned/libversioned.so`, by rename.
    func install(_ build: String) {
        let target = folder.path + "/versioned/libversioned.so"
        try? FileManager.default.createDirectory(atPath: folder.path + "/versioned", withIntermediateDirectories: true)
        try? FileManager.default.removeItem(atPath: target + ".new")
        try! FileManager.default.copyItem(atPath: Fixtures.library("versioned/\(build)/libversioned.so"), toPath: target + ".new")
        precondition(rename(target + ".new", target) == 0)
        folder.manifest("versioned/versioned.toml", [("versioned", "libversioned.so:versioned_entry")])
    }

    var library: String { folder.path + "/versioned/libversioned.so" }

    func runtime(_ hostExtra: String = "", tables: String = "") throws -> PluginRuntime {
        writeConfig(hostExtra, tables: tables)
        var logger = Logger(label: "trust-test")
        logger.logLevel = .critical
        let runtime = PluginRuntime(pluginsDirectory: folder.path, config: try HostConfig.load(path: configPath), servesHTTP: true, logger: logger)
        try runtime.start()
        return runtime
    }

    func writeConfig(_ hostExtra: String = "", tables: String = "") {
        folder.write("host.toml", "[host]\nenabled = [\"versioned\"]\n\(hostExtra)\n\(tables)")
    }

    func digest(_ build: String) -> LibraryDigest {
        try! LibraryDigest(ofFileAt: Fixtures.library("versioned/\(build)/libversioned.so"))
    }
}

@Suite("What the host loads: pins and signatures")
struct PinAndSignatureTests {
    @Test("a library whose bytes match its pin loads; another build is refused naming expected and found digests")
    func pinAtStart() throws {
        let bench = TrustBench()
        bench.install("v1")
        let good = try bench.runtime(tables: "[pins]\nversioned = \"\(bench.digest("v1"))\"")
        #expect(good.generation?.aliases == ["versioned"])
        good.shutdown()

        let bad = try bench.runtime(tables: "[pins]\nversioned = \"\(bench.digest("v2"))\"")
        defer { bad.shutdown() }
        #expect(bad.generation?.aliases == [])
        let error = try #require(bad.statuses.of("versioned")?.error)
        #expect(error.code == .pinMismatch)
        #expect(error.reason.contains("expected \(bench.digest("v2"))") && error.reason.contains("found \(bench.digest("v1"))"), "\(error)")
    }

    @Test("a reload that brings a build other than the pinned one is rolled back; the old build keeps serving")
    func pinAtReload() throws {
        let bench = TrustBench()
        bench.install("v1")
        let runtime = try bench.runtime(tables: "[pins]\nversioned = \"\(bench.digest("v1"))\"")
        defer { runtime.shutdown() }
        let before = runtime.generation?.number
        bench.install("v2")
        let report = runtime.reload()
        #expect(!report.succeeded)
        #expect(report.problems.contains { $0.code == .pinMismatch && $0.alias == "versioned" }, "\(report)")
        #expect(runtime.generation?.number == before)
        #expect(runtime.generation?.aliases == ["versioned"])

        // Pinning the new build lets it in; pinning another digest later rolls back even an unchanged plugin.
        bench.writeConfig(tables: "[pins]\nversioned = \"\(bench.digest("v2"))\"")
        #expect(runtime.reload().succeeded)
        bench.writeConfig(tables: "[pins]\nversioned = \"\(bench.digest("v1"))\"")
        let repinned = runtime.reload()
        #expect(!repinned.succeeded && repinned.problems.contains { $0.code == .pinMismatch }, "\(repinned)")
    }

    @Test("signed by a trusted key loads; unsigned, tampered and wrongly keyed libraries are refused, each with its reason")
    func signatures() throws {
        let bench = TrustBench()
        bench.install("v1")
        let trusted = SigningKey.Private()
        let stranger = SigningKey.Private()
        let host = "trusted-keys = [\"\(trusted.publicKey)\"]\nrequire-signatures = true"
        func sign(with key: SigningKey.Private, digest: LibraryDigest) throws {
            try key.sign(digest).fileText.write(toFile: LibrarySignature.path(for: bench.library), atomically: true, encoding: .utf8)
        }
        func refusal() throws -> PluginError? {
            let runtime = try bench.runtime(host)
            defer { runtime.shutdown() }
            return runtime.statuses.of("versioned")?.error
        }

        #expect(try refusal()?.reason.contains("not signed") == true)
        try sign(with: trusted, digest: bench.digest("v1"))
        #expect(try refusal() == nil)
        try sign(with: trusted, digest: bench.digest("v2"))  // a signature of other bytes: the library was changed after signing
        let tampered = try #require(try refusal())
        #expect(tampered.code == .signatureRefused && tampered.reason.contains("does not match"), "\(tampered)")
        try sign(with: stranger, digest: bench.digest("v1"))
        let unknown = try #require(try refusal())
        #expect(unknown.reason.contains("\(stranger.publicKey)") && unknown.reason.contains("not in [host] trusted-keys"), "\(unknown)")
        try "garbage\n".write(toFile: LibrarySignature.path(for: bench.library), atomically: true, encoding: .utf8)
        #expect(try refusal()?.reason.contains("is not a signature file") == true)
    }

    @Test("on reload an unsigned new build is refused and the signed old one keeps serving")
    func signatureAtReload() throws {
        let bench = TrustBench()
        bench.install("v1")
        let key = SigningKey.Private()
        try key.sign(bench.digest("v1")).fileText.write(toFile: LibrarySignature.path(for: bench.library), atomically: true, encoding: .utf8)
        let runtime = try bench.runtime("trusted-keys = [\"\(key.publicKey)\"]\nrequire-signatures = true")
        defer { runtime.shutdown() }
        #expect(runtime.generation?.aliases == ["versioned"])
        bench.install("v2")
        let report = runtime.reload()
        #expect(!report.succeeded && report.problems.contains { $0.code == .signatureRefused }, "\(report)")
        #expect(runtime.generation?.aliases == ["versioned"])
        #expect(runtime.statuses.of("versioned")?.version == "1")
    }

    @Test("a library two aliases share is opened only when every alias's pin matches, not only the first one's")
    func sharedLibraryPins() throws {
        let folder = PluginFolder()
        folder.copyFixture("librecorder.so")
        folder.manifest("pair.toml", [("first", "librecorder.so:recorder_entry"), ("second", "librecorder.so:recorder_entry")])
        let wrong = LibraryDigest(of: [0])
        var config = folder.config(["first", "second"])
        config.pins = ["second": wrong]
        let runtime = PluginRuntime(pluginsDirectory: folder.path, config: config)
        try runtime.start()
        defer { runtime.shutdown() }
        #expect(runtime.generation?.aliases == [])
        let first = try #require(runtime.statuses.of("first")?.error)
        #expect(first.code == .pinMismatch && first.alias == "second", "the unpinned first alias must not open it: \(first)")
        #expect(!folder.events().contains("first create"), "\(folder.events())")
    }

    @Test("a pin for an alias no manifest declares is an error; require-pins refuses unpinned aliases")
    func pinBookkeeping() throws {
        let bench = TrustBench()
        bench.install("v1")
        let typo = try bench.runtime(tables: "[pins]\nversoined = \"\(bench.digest("v1"))\"")
        #expect(typo.statuses.contains { $0.error?.alias == "versoined" && $0.error?.reason.contains("no manifest declares") == true },
                "\(typo.statuses.compactMap(\.error))")
        typo.shutdown()
        let strict = try bench.runtime("require-pins = true")
        #expect(strict.generation?.aliases == [])
        #expect(strict.statuses.of("versioned")?.error?.reason.contains("require-pins") == true)
        strict.shutdown()
        let pinned = try bench.runtime("require-pins = true", tables: "[pins]\nversioned = \"\(bench.digest("v1"))\"")
        #expect(pinned.generation?.aliases == ["versioned"])
        pinned.shutdown()
    }

    @Test("a signature file that exists but cannot be read is refused, not taken for unsigned")
    func unreadableSignature() throws {
        let bench = TrustBench()
        bench.install("v1")
        let key = SigningKey.Private()
        try FileManager.default.createSymbolicLink(atPath: LibrarySignature.path(for: bench.library), withDestinationPath: "/nonexistent/x.sig")
        let runtime = try bench.runtime("trusted-keys = [\"\(key.publicKey)\"]")
        defer { runtime.shutdown() }
        let error = try #require(runtime.statuses.of("versioned")?.error)
        #expect(error.code == .signatureRefused && error.reason.contains("not a signature file"), "\(error)")
    }

    @Test("key and signature texts round-trip and refuse malformed input")
    func formats() throws {
        let key = SigningKey.Private()
        let again = try #require(SigningKey.Private(parsing: key.fileText))
        #expect(again.publicKey == key.publicKey)
        #expect(SigningKey.Public(parsing: key.publicKey.description) == key.publicKey)
        #expect(SigningKey.Public(parsing: "ed25519:short") == nil)
        #expect(SigningKey.Private(parsing: "ed25519-private:!!!") == nil)
        let digest = LibraryDigest(of: Array("bytes".utf8))
        #expect(LibraryDigest(parsing: digest.description) == digest)
        #expect(LibraryDigest(parsing: "sha256:" + String(repeating: "g", count: 64)) == nil)
        let signature = try key.sign(digest)
        #expect(LibrarySignature(parsing: signature.fileText)?.verifies(digest) == true)
        #expect(LibrarySignature(parsing: signature.fileText)?.verifies(LibraryDigest(of: [1])) == false)
    }
}
