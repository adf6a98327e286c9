import CPluginABI
import Foundation
import Logging
import PluginRuntime
import PluginTestSupport
import Synchronization
import Testing

/// A test-only host extension, "test.broker/1", in the spirit of a message-broker
/// adapter: plugins register topics through its C table while `create` runs, and
/// each generation gets the topics of its plugins in priority order. It is
/// defined entirely here: the runtime needs no change to offer it.
final class BrokerExtension: HostExtension {
    /// The C table, laid out as `test_broker_t` in `Tests/Fixtures/broker.c`.
    struct Table {
        var structSize: UInt32
        var reserved: UInt32
        var addTopic: @convention(c) (UnsafePointer<ph_host_t>?, UnsafePointer<CChar>?) -> ph_status_t
    }

    /// One plugin's topics.
    final class Topics: ExtensionRegistrations {
        let alias: String
        var topics: [String] = []
        var warnings: [PluginError] { [] }
        init(alias: String) { self.alias = alias }
        func clear() { topics = [] }
    }

    /// A generation's topics, as (alias, topic) in priority order.
    final class Part: ExtensionPart, @unchecked Sendable {
        // @unchecked Sendable: immutable but for the release flag, set on the control thread.
        let topics: [(String, String)]
        var released = false
        var warnings: [PluginError] { [] }
        init(topics: [(String, String)]) { self.topics = topics }
        func release() { released = true }
    }

    static let shared = BrokerExtension()
    // nonisolated(unsafe): written once at first use, read-only C memory afterwards.
    nonisolated(unsafe) private static let tableStorage: UnsafeMutablePointer<Table> = {
        let table = UnsafeMutablePointer<Table>.allocate(capacity: 1)
        table.initialize(to: Table(structSize: UInt32(MemoryLayout<Table>.size), reserved: 0, addTopic: { host, topic in
            guard let topic, let (_, store) = PluginOwner.registering(host, for: BrokerExtension.shared) else { return PH_ERR_STATE }
            (store as! Topics).topics.append(String(cString: topic))
            return PH_OK
        }))
        return table
    }()

    var id: String { "test.broker/1" }
    var table: UnsafeRawPointer { UnsafeRawPointer(Self.tableStorage) }
    func makeRegistrations(for owner: PluginOwner) -> any ExtensionRegistrations { Topics(alias: owner.alias) }
    func assemble(_ registrations: [any ExtensionRegistrations]) -> any ExtensionPart {
        Part(topics: registrations.flatMap { store in (store as! Topics).topics.map { ((store as! Topics).alias, $0) } })
    }
}

@Suite("Host extensions plug into the runtime without changes to it")
struct HostExtensionTests {
    private func brokerFolder() -> PluginFolder {
        let folder = PluginFolder()
        folder.copyFixture("libbroker.so")
        folder.manifest("brokers.toml", [("news", "libbroker.so:broker_entry"), ("sports", "libbroker.so:broker_entry")])
        return folder
    }

    private func config(_ folder: PluginFolder, news: String = "headlines") -> String {
        "[host]\nenabled = [\"sports\", \"news\"]\n[plugin.news]\ntopic = \"\(news)\"\n[plugin.sports]\ntopic = \"scores\"\n"
    }

    @Test("a test-only extension gets its registrations, per generation and in priority order, and releases replaced parts")
    func brokerExtension() throws {
        #expect(MemoryLayout<BrokerExtension.Table>.offset(of: \.addTopic) == 8, "the Swift table must match test_broker_t")
        let folder = brokerFolder()
        folder.write("host.toml", config(folder))
        let runtime = PluginRuntime(pluginsDirectory: folder.path, config: try HostConfig.load(path: folder.path + "/host.toml"),
                                    extensions: [BrokerExtension.shared], logger: Logger(label: "quiet", factory: { _ in SwiftLogNoOpLogHandler() }))
        try runtime.start()
        defer { runtime.shutdown() }
        let first = try #require(runtime.generation?.part(for: BrokerExtension.shared) as? BrokerExtension.Part)
        #expect(first.topics.map { "\($0.0)=\($0.1)" } == ["sports=scores", "news=headlines"])

        folder.write("host.toml", config(folder, news: "weather"))
        let report = runtime.reload()
        #expect(report.succeeded && report.changed == ["news"], "\(report)")
        let second = try #require(runtime.generation?.part(for: BrokerExtension.shared) as? BrokerExtension.Part)
        #expect(second.topics.map { "\($0.0)=\($0.1)" } == ["sports=scores", "news=weather"])
        #expect(first.released, "the retired generation's part is released")
    }

    @Test("a runtime that does not offer the extension answers get_extension with NULL")
    func extensionAbsent() throws {
        let folder = brokerFolder()
        folder.write("host.toml", config(folder))
        let runtime = PluginRuntime(pluginsDirectory: folder.path, config: try HostConfig.load(path: folder.path + "/host.toml"),
                                    logger: Logger(label: "quiet", factory: { _ in SwiftLogNoOpLogHandler() }))
        try runtime.start()
        defer { runtime.shutdown() }
        #expect(runtime.generation?.aliases == [])
        #expect(runtime.statuses.of("news")?.error?.reason.contains("host offers no test.broker/1") == true, "\(runtime.statuses.compactMap(\.error))")
        #expect(runtime.generation?.part(for: BrokerExtension.shared) == nil)
    }
}
