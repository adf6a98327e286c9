@testable import PluginRuntime
import Testing

/// Load planning without files: a catalog of entry points and a host config in, a plan out.
@Suite("Load planning")
struct LoadPlanTests {
    private func entry(_ alias: String, namespace: String = HostConfig.defaultNamespace, manifest: String? = nil) -> EntryPoint {
        EntryPoint(namespace: namespace, alias: alias, manifestPath: manifest ?? "/p/\(alias).toml", packageName: alias,
                   packageVersion: "1", library: "lib\(alias).so", symbol: "entry")
    }

    private func catalog(_ entries: [EntryPoint]) -> PluginCatalog {
        PluginCatalog(directory: "/p", manifests: [], entryPoints: entries, problems: [])
    }

    @Test("without enabled, every alias of the loaded namespaces loads, by name; other namespaces are ignored")
    func defaults() {
        let plan = LoadPlan.make(catalog: catalog([entry("b"), entry("a"), entry("x", namespace: "other")]), config: HostConfig())
        #expect(plan.enabled.map(\.alias) == ["a", "b"])
        #expect(plan.problems.isEmpty && plan.disabled.isEmpty)
    }

    @Test("enabled gives the order; the rest are disabled; an enabled alias nobody declares is a problem")
    func enabledOrder() {
        let config = HostConfig(enabled: ["c", "a", "ghost"])
        let plan = LoadPlan.make(catalog: catalog([entry("a"), entry("b"), entry("c")]), config: config)
        #expect(plan.enabled.map(\.alias) == ["c", "a"])
        #expect(plan.disabled.map(\.alias) == ["b"])
        #expect(plan.problems.map(\.code) == [.aliasNotFound] && plan.problems.first?.alias == "ghost")
    }

    @Test("an alias declared twice loads from neither manifest, and the problem names both")
    func duplicates() {
        let plan = LoadPlan.make(catalog: catalog([entry("a", manifest: "/p/one.toml"), entry("a", manifest: "/p/two.toml")]), config: HostConfig())
        #expect(plan.enabled.isEmpty)
        #expect(plan.problems.first?.code == .duplicateAlias)
        #expect(plan.problems.first?.reason.contains("/p/one.toml") == true && plan.problems.first?.reason.contains("/p/two.toml") == true)
    }

    @Test("config tables and pins for aliases nobody declares are problems; require-pins leaves unpinned aliases out")
    func danglingConfigAndPins() {
        var config = HostConfig(pluginConfigs: ["typo": [:]])
        config.pins = ["a": LibraryDigest(of: [1]), "tpyo": LibraryDigest(of: [2])]
        config.requirePins = true
        let plan = LoadPlan.make(catalog: catalog([entry("a"), entry("b")]), config: config)
        #expect(plan.enabled.map(\.alias) == ["a"])
        #expect(Set(plan.problems.compactMap(\.alias)) == ["typo", "tpyo", "b"])
        #expect(plan.problems.first { $0.alias == "b" }?.code == .pinMismatch)
    }
}
