import Foundation
import PluginTestSupport
import Synchronization
import Testing

/// A folder serving the deferred fixture (build `build`) beside the versioned one.
private func deferredFolder(build: String = "a", extra: String = "") -> PluginFolder {
    let folder = PluginFolder()
    folder.manifest("deferred/deferred.toml", name: "deferred", [("deferred", "libdeferred.so:deferred_entry")])
    installDeferred(folder, build: build)
    folder.manifest("versioned/versioned.toml", [("versioned", "libversioned.so:versioned_entry")])
    try? FileManager.default.createDirectory(atPath: folder.path + "/versioned", withIntermediateDirectories: true)
    try? FileManager.default.copyItem(atPath: Fixtures.library("versioned/v1/libversioned.so"), toPath: folder.path + "/versioned/libversioned.so")
    folder.write("host.toml", "[host]\nenabled = [\"deferred\", \"versioned\"]\n" + extra)
    return folder
}

/// Installs build `build` of the deferred fixture by rename, as `plugin.mk` does.
private func installDeferred(_ folder: PluginFolder, build: String) {
    let path = folder.path + "/deferred/libdeferred.so"
    try? FileManager.default.createDirectory(atPath: folder.path + "/deferred", withIntermediateDirectories: true)
    try? FileManager.default.removeItem(atPath: path + ".new")
    try! FileManager.default.copyItem(atPath: Fixtures.library("deferred/\(build)/libdeferred.so"), toPath: path + ".new")
    precondition(rename(path + ".new", path) == 0)
}

private func get(_ port: Int, _ target: String) async -> String {
    (try? await RawHTTP.sendAsync("GET \(target) HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", port: port)) ?? ""
}

@Suite("Deferred completion: a plugin answers later without holding a thread", .serialized)
struct DeferredTests {
    @Test("1,000 concurrent requests deferred and resumed from the plugin's own thread in random order: every client gets its own answer")
    func thousandDeferred() async throws {
        let folder = deferredFolder()
        let server = try ServeProcess(folder: folder, extraArguments: ["--workers", "1"])
        let port = server.port
        let replies = await withTaskGroup(of: (Int, String).self) { group in
            for id in 0..<1000 {
                group.addTask { (id, await get(port, "/d/wait?id=\(id)&ms=300")) }
            }
            return await group.reduce(into: [Int: String]()) { $0[$1.0] = $1.1 }
        }
        let wrong = replies.filter { !$0.value.hasPrefix("HTTP/1.1 200") || !$0.value.hasSuffix("id \($0.key) build a") }
        #expect(replies.count == 1000 && wrong.isEmpty, "\(wrong.count) wrong, e.g. \(wrong.first.map { "\($0.key): \($0.value)" } ?? "")")
        // The host serves on, and the plugin's own endpoints still answer.
        #expect(server.get("/version").body == "v1")
        #expect(server.stop() == 0)
    }

    @Test("a second resume is refused with PH_ERR_STATE; a wrapper defers, continues the chain from another thread and resumes")
    func resumeTwiceAndAsyncWrapper() async throws {
        let folder = deferredFolder()
        let server = try ServeProcess(folder: folder)
        #expect(server.get("/d/twice").body == "once")
        var status = ""
        for _ in 0..<100 where !status.contains("second=5") {
            status = server.get("/d/status").body
            usleep(10_000)
        }
        #expect(status.contains("second=5"), "the second resume answered: \(status)")
        let undeclared = server.get("/d/undeclared")
        #expect(undeclared.status == 500 && undeclared.body.contains("without declaring PH_MAY_DEFER"), "\(undeclared)")
        let gated = await get(server.port, "/d/gated")
        #expect(gated.hasPrefix("HTTP/1.1 200") && gated.lowercased().contains("x-gate: later") && gated.hasSuffix("gated ok"), "\(gated)")
        #expect(server.stop() == 0)
    }

    @Test("past its deadline a deferred request is answered 504; the plugin's late resume answers PH_ERR_CANCELLED; a client that left does not hurt")
    func deadlineAndDisconnect() async throws {
        let folder = deferredFolder(extra: "\n[request-timeouts]\n\"GET /d/late\" = 100\n")
        let server = try ServeProcess(folder: folder)
        let reply = server.get("/d/late?ms=400")
        #expect(reply.status == 504 && reply.body.contains(#""plugin":"deferred""#), "\(reply)")
        var status = ""
        for _ in 0..<200 where !status.contains("late=9") {
            status = server.get("/d/status").body
            usleep(10_000)
        }
        #expect(status.contains("late=9"), "the late resume answered: \(status)")
        // A client that sends and leaves at once: the plugin resumes later; nothing breaks.
        for _ in 0..<20 {
            let fd = try RawHTTP.connect(port: server.port)
            let request = "GET /d/wait?id=7&ms=50 HTTP/1.1\r\nHost: x\r\n\r\n"
            _ = request.withCString { write(fd, $0, strlen($0)) }
            close(fd)
        }
        usleep(300_000)
        #expect(server.get("/version").body == "v1")
        #expect(await get(server.port, "/d/wait?id=8").hasSuffix("id 8 build a"))
        #expect(server.stop() == 0)
    }

    @Test("a client whose connection breaks while its request is deferred: the host gives the request up, and the plugin's resume answers PH_ERR_CANCELLED")
    func clientGone() async throws {
        let folder = deferredFolder()
        let server = try ServeProcess(folder: folder)
        let fd = try RawHTTP.connect(port: server.port)
        let request = "GET /d/late?ms=400 HTTP/1.1\r\nHost: x\r\n\r\n"
        _ = request.withCString { write(fd, $0, strlen($0)) }
        usleep(100_000)
        // An abrupt close (RST, as a client that crashed or timed out): a graceful one only
        // half-closes, which HTTP/1.1 allows while the answer is awaited.
        var abort = linger(l_onoff: 1, l_linger: 0)
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &abort, socklen_t(MemoryLayout<linger>.size))
        close(fd)
        var status = ""
        for _ in 0..<200 where !status.contains("late=9") {
            status = server.get("/d/status").body
            usleep(10_000)
        }
        #expect(status.contains("late=9"), "the late resume after the client left answered: \(status)")
        #expect(server.stop() == 0)
    }

    @Test("a reload while requests are deferred: they finish on their generation, new requests reach the new build")
    func reloadWhilePending() throws {
        let folder = deferredFolder()
        let server = try ServeProcess(folder: folder)
        let port = server.port
        // The 20 clients on threads of their own: tasks would wait for the cooperative pool, which
        // the other suites running beside this one keep busy on a 2-core machine.
        let replies = Mutex<[String]>([])
        let clients = DispatchGroup()
        for id in 0..<20 {
            clients.enter()
            Thread {
                let reply = (try? RawHTTP.send("GET /d/wait?id=\(id)&ms=1500 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", port: port)) ?? ""
                replies.withLock { $0.append(reply) }
                clients.leave()
            }.start()
        }
        // All 20 are deferred in the running build before the new one arrives.
        var queued = ""
        for _ in 0..<500 where !queued.hasSuffix("queued=20") {
            queued = server.get("/d/status").body
            usleep(10_000)
        }
        #expect(queued.hasSuffix("queued=20"), "\(queued)")
        installDeferred(folder, build: "b")
        let reload = try Plughost.run(["reload", "--pid-file", server.pidFile])
        #expect(reload.status == 0, "\(reload.output)")
        #expect(server.get("/d/wait?id=99").body.hasSuffix("id 99 build b"))
        #expect(clients.wait(timeout: .now() + 30) == .success)
        let old = replies.withLock { $0 }
        #expect(old.count == 20 && old.allSatisfy { $0.hasPrefix("HTTP/1.1 200") && $0.hasSuffix("build a") }, "\(old.filter { !$0.hasSuffix("build a") }.prefix(3))")
        #expect(server.stop() == 0)
    }
}

@Suite("Async Swift endpoints (deferred completion through the Swift SDK)", .serialized)
struct AsyncSwiftEndpointTests {
    /// A folder serving the Swift fixture, with a 200 ms timeout on its sleepy endpoint.
    private func swiftFolder() -> PluginFolder {
        let folder = PluginFolder()
        folder.manifest("sv/sv.toml", name: "sv", [("sv", "libswift_versioned.so:swift_versioned_entry")])
        try? FileManager.default.createDirectory(atPath: folder.path + "/sv", withIntermediateDirectories: true)
        try? FileManager.default.copyItem(atPath: Fixtures.library("swift_versioned/v1/libswift_versioned.so"), toPath: folder.path + "/sv/libswift_versioned.so")
        folder.write("host.toml", "[host]\nenabled = [\"sv\"]\n\n[request-timeouts]\n\"GET /swift/sleepy\" = 200\n")
        return folder
    }

    @Test("300 concurrent requests to an async Swift endpoint that awaits Task.sleep: each gets its own answer")
    func concurrentAsyncEndpoint() async throws {
        let server = try ServeProcess(folder: swiftFolder())
        let port = server.port
        let replies = await withTaskGroup(of: (Int, String).self) { group in
            for id in 0..<300 { group.addTask { (id, await get(port, "/swift/later?id=\(id)&ms=100")) } }
            return await group.reduce(into: [Int: String]()) { $0[$1.0] = $1.1 }
        }
        let wrong = replies.filter { !$0.value.hasPrefix("HTTP/1.1 200") || !$0.value.hasSuffix("later \($0.key)") }
        #expect(replies.count == 300 && wrong.isEmpty, "\(wrong.count) wrong, e.g. \(wrong.first.map { "\($0.key): \($0.value)" } ?? "")")
        #expect(server.stop() == 0)
    }

    @Test("an async Swift wrapper waits, continues the chain from its task and changes the response after")
    func asyncWrapper() async throws {
        let server = try ServeProcess(folder: swiftFolder())
        let replies = await withTaskGroup(of: String.self) { group in
            for _ in 0..<50 { group.addTask { await get(server.port, "/swift/gated") } }
            return await group.reduce(into: [String]()) { $0.append($1) }
        }
        #expect(replies.allSatisfy { $0.hasPrefix("HTTP/1.1 200") && $0.lowercased().contains("x-slowgate: passed") && $0.hasSuffix("gated") },
                "\(replies.first ?? "")")
        #expect(server.stop() == 0)
    }

    @Test("when the host gives up on a request (its deadline), the async endpoint's task is cancelled")
    func cancellationReachesTheTask() async throws {
        let server = try ServeProcess(folder: swiftFolder())
        let reply = server.get("/swift/sleepy")
        #expect(reply.status == 504 && reply.body.contains(#""plugin":"sv""#), "\(reply)")
        var cancelled = ""
        for _ in 0..<200 where cancelled != "1" {
            cancelled = server.get("/swift/cancelled").body
            usleep(10_000)
        }
        #expect(cancelled == "1", "the task was not cancelled (count \(cancelled))")
        #expect(server.stop() == 0)
    }
}
