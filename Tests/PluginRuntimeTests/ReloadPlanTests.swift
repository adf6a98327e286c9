import Foundation
import Logging
@testable import PluginRuntime
import PluginTestSupport
import Testing

/// Reload planning on its own: real running instances (recorder plugins,
/// loaded for real) compared with what the folder and a host config say now,
/// without running the reload.
@Suite("Reload planning")
struct ReloadPlanTests {
    /// A running runtime over recorder plugins `aliases`, with `tables` as their `[plugin.X]` tables.
    private final class Running {
        let folder = PluginFolder()
        let runtime: PluginRuntime

        init(_ aliases: [String], tables: [String: [String: ConfigValue]] = [:]) throws {
            for alias in aliases { folder.addRecorder(alias) }
            var configs = tables
            for alias in aliases { configs[alias, default: [:]]["log"] = .string(folder.log) }
            runtime = PluginRuntime(pluginsDirectory: folder.path, config: HostConfig(enabled: aliases, pluginConfigs: configs),
                                    logger: Logger(label: "quiet", factory: { _ in SwiftLogNoOpLogHandler() }))
            try runtime.start()
        }

        var instances: [PluginInstance] { runtime.generation!.instances }

        /// What a reload under `config` would decide, alias by alias.
        func plan(_ config: HostConfig, failed: [String: FailedPlugin] = [:]) -> ReloadPlan {
            let scan = PluginScan(directory: folder.path, config: config)
            return ReloadPlan(plan: scan.plan, config: config, running: instances, failed: failed)
        }

        /// `config` with the `log` key every recorder here was started with.
        func config(_ aliases: [String], tables: [String: [String: ConfigValue]] = [:]) -> HostConfig {
            var configs = tables
            for alias in aliases { configs[alias, default: [:]]["log"] = .string(folder.log) }
            return HostConfig(enabled: aliases, pluginConfigs: configs)
        }

        deinit { runtime.shutdown() }
    }

    /// Each decision as text: "keep", "still failed", "build new", "build reusing", "build replacing".
    private func decisions(_ plan: ReloadPlan) -> [String: String] {
        Dictionary(uniqueKeysWithValues: plan.decisions.map { entry, decision in
            switch decision {
            case .keep: (entry.alias, "keep")
            case .stillFailed: (entry.alias, "still failed")
            case .build(nil, nil): (entry.alias, "build new")
            case .build(.some, .some): (entry.alias, "build reusing")
            case .build(.some, nil): (entry.alias, "build replacing")
            case .build(nil, .some): (entry.alias, "build new from a loaded library")
            case .quarantined(nil, _): (entry.alias, "quarantined")
            case .quarantined(.some, _): (entry.alias, "quarantined, retiring the running one")
            }
        })
    }

    @Test("nothing changed: every instance is kept, in the new order, and the generation would stay as it is")
    func unchanged() throws {
        let running = try Running(["a", "b"])
        let same = running.plan(running.config(["a", "b"]))
        #expect(decisions(same) == ["a": "keep", "b": "keep"])
        #expect(same.keepsAsIs(running.runtime.generation!))
        let reordered = running.plan(running.config(["b", "a"]))
        #expect(reordered.decisions.map(\.entry.alias) == ["b", "a"])
        #expect(!reordered.keepsAsIs(running.runtime.generation!), "a new order is a new generation")
    }

    @Test("a changed [plugin.X] table re-creates that plugin from the library already loaded; the others are kept")
    func configChanged() throws {
        let running = try Running(["a", "b"])
        let plan = running.plan(running.config(["a", "b"], tables: ["a": ["extra": .string("1")]]))
        #expect(decisions(plan) == ["a": "build reusing", "b": "keep"])
    }

    @Test("a new build of the library replaces the plugin and loads the new library; a new alias is built new")
    func libraryChanged() throws {
        let running = try Running(["a"])
        // A different build under the same name, installed by rename as plugin.mk does.
        let library = running.folder.path + "/librecorder.so"
        try FileManager.default.removeItem(atPath: library)
        try FileManager.default.copyItem(atPath: Fixtures.library("libnoop.so"), toPath: library + ".new")
        #expect(rename(library + ".new", library) == 0)
        running.folder.addRecorder("c")
        let plan = running.plan(running.config(["a", "c"]))
        #expect(decisions(plan) == ["a": "build replacing", "c": "build new"])
    }

    @Test("an alias that failed is not retried until its build or config changes")
    func failedStaysFailed() throws {
        let running = try Running(["a"])
        running.folder.addRecorder("f")
        let config = running.config(["a", "f"])
        let entry = try #require(PluginScan(directory: running.folder.path, config: config).plan.enabled.first { $0.alias == "f" })
        let failure = FailedPlugin(entry, config: config, error: PluginError(.startFailed, file: entry.libraryPath, alias: "f", reason: "test"))
        #expect(decisions(running.plan(config, failed: ["f": failure])) == ["a": "keep", "f": "still failed"])
        let changed = running.config(["a", "f"], tables: ["f": ["fixed": .bool(true)]])
        #expect(decisions(running.plan(changed, failed: ["f": failure])) == ["a": "keep", "f": "build new"])
    }

    @Test("a kept plugin that looked up a service of a replaced or removed plugin is re-created, transitively")
    func serviceUsersRecreated() throws {
        let running = try Running(["prov", "user", "bystander"], tables: [
            "prov": ["provide": .string("x.svc/1")], "user": ["lookup": .string("x.svc/1")],
        ])
        #expect(running.instances.first { $0.alias == "user" }?.context.providers == ["prov"])
        // The provider's table changes: it is replaced, so its user is re-created; the bystander is kept.
        let replaced = running.plan(running.config(["prov", "user", "bystander"], tables: [
            "prov": ["provide": .string("x.svc/1"), "v": .string("2")], "user": ["lookup": .string("x.svc/1")],
        ]))
        #expect(decisions(replaced) == ["prov": "build reusing", "user": "build reusing", "bystander": "keep"])
        #expect(replaced.recreated == ["user"])
        // The provider is removed: same for its user.
        let removed = running.plan(running.config(["user", "bystander"], tables: ["user": ["lookup": .string("x.svc/1")]]))
        #expect(decisions(removed) == ["user": "build reusing", "bystander": "keep"])
        #expect(removed.recreated == ["user"])
    }
}
