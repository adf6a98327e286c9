/// The new instances a reload creates off to the side, and how to undo them
/// all if anything fails before the swap.
final class ReloadBuild {
    /// The new generation's instances in config order: kept ones and new ones.
    private(set) var instances: [PluginInstance] = []
    /// The instances created by this reload, with the one each replaces.
    private(set) var created: [(instance: PluginInstance, replacing: PluginInstance?)] = []
    /// Where new libraries are opened: aliases of one library share an image, and
    /// unchanged plugins' images are shared rather than loaded twice.
    let libraries: LibraryPass
    private let runtime: PluginRuntime
    private let config: HostConfig

    init(runtime: PluginRuntime, config: HostConfig, planned: [EntryPoint], keeping kept: [PluginInstance]) {
        self.runtime = runtime
        self.config = config
        self.libraries = LibraryPass(policy: LoadPolicy(config), planned: planned, sharing: kept.map(\.loaded.library))
    }

    /// Carries `instance` into the new generation unchanged.
    func keep(_ instance: PluginInstance) {
        instances.append(instance)
    }

    /// Loads (or reuses) and creates the plugin of `entry`, after everything added so far.
    func create(_ entry: EntryPoint, replacing old: PluginInstance?, reusing reuse: LoadedPlugin?,
                ledger: inout Ledger) throws(PluginError) {
        let prepared: PreparedPlugin
        // An isolated plugin's loaded build is its plugin process, which serves one instance:
        // a new instance (or a change of tier) gets a new one.
        if let reuse, reuse.library.isolated == nil, config.isolation(of: entry.alias).mode == .inProcess {
            try libraries.policy.admit(reuse.library, alias: entry.alias)
            _ = reuse.library.share()
            do {
                prepared = try PreparedPlugin.prepare(reuse, config: config)
            } catch {
                reuse.library.release()
                throw error
            }
        } else {
            prepared = try PreparedPlugin.prepare(entry, config: config, in: libraries)
        }
        do {
            let instance = try runtime.createInstance(prepared, after: instances, config: config)
            created.append((instance, old))
            instances.append(instance)
        } catch {
            // Its create may have left threads behind: keep its library mapped until shutdown.
            prepared.loaded.library.abandon(to: &ledger.abandonedLibraries)
            throw error
        }
    }

    /// Kept instances that looked up a service in vain which an instance of this build now provides.
    var keptAwaitingNewProviders: [PluginInstance] {
        let provided = Set(instances.flatMap { $0.context.registrations.services.map(\.id) })
        return instances.filter { instance in
            !created.contains { $0.instance === instance } && !instance.context.missedServices.isDisjoint(with: provided)
        }
    }

    /// Re-creates the kept `old` in its place (its library reused), so that it finds services it missed before.
    func recreate(_ old: PluginInstance, ledger: inout Ledger) throws(PluginError) {
        guard let index = instances.firstIndex(where: { $0 === old }) else { return }
        let prepared: PreparedPlugin
        if old.loaded.library.isolated != nil {
            prepared = try PreparedPlugin.prepare(old.loaded.entry, config: config, in: libraries)
        } else {
            _ = old.loaded.library.share()
            do {
                prepared = try PreparedPlugin.prepare(old.loaded, config: config)
            } catch {
                old.loaded.library.release()
                throw error
            }
        }
        do {
            let instance = try runtime.createInstance(prepared, after: Array(instances[..<index]), config: config)
            created.append((instance, old))
            instances[index] = instance
        } catch {
            prepared.loaded.library.abandon(to: &ledger.abandonedLibraries)
            throw error
        }
    }

    /// Stops (if started) and destroys everything this reload created, giving back their libraries.
    /// - Returns: The number of Swift images left mapped.
    func undo() -> Int {
        for (instance, _) in created.reversed() {
            instance.stop()
            instance.destroy()
        }
        let retained = created.filter { $0.instance.loaded.library.release() == .keptMapped }.count
        created = []
        return retained
    }
}
