/// The new instances a reload creates off to the side, and how to undo them
/// all if anything fails before the swap.
final class ReloadBuild {
    /// The new generation's instances in config order: kept ones and new ones.
    private(set) var instances: [PluginInstance] = []
    /// The instances created by this reload, with the one each replaces.
    private(set) var created: [(instance: PluginInstance, replacing: PluginInstance?)] = []
    /// Libraries this reload opened (closed again by ``undo()``).
    private var opened: [PluginLibrary] = []
    private let runtime: PluginRuntime
    private let config: HostConfig

    init(runtime: PluginRuntime, config: HostConfig) {
        self.runtime = runtime
        self.config = config
    }

    /// Carries `instance` into the new generation unchanged.
    func keep(_ instance: PluginInstance) {
        instances.append(instance)
    }

    /// Loads (or reuses) and creates the plugin of `entry`, after everything added so far.
    func create(_ entry: EntryPoint, replacing old: PluginInstance?, reusing reuse: LoadedPlugin?,
                control: RuntimeControl) throws(PluginError) {
        let prepared: PreparedPlugin
        if let reuse {
            prepared = try PreparedPlugin.prepare(reuse, config: config)
        } else {
            prepared = try PreparedPlugin.prepare(entry, config: config)
            opened.append(prepared.loaded.library)
        }
        do {
            let instance = try runtime.createInstance(prepared, after: instances, config: config)
            created.append((instance, old))
            instances.append(instance)
        } catch {
            // Its create may have left threads behind: keep its library mapped until shutdown.
            if reuse == nil {
                opened.removeAll { $0 === prepared.loaded.library }
                control.abandonedLibraries.append(prepared.loaded.library)
            }
            throw error
        }
    }

    /// Stops (if started), destroys and unloads everything this reload created.
    /// - Returns: The number of Swift images left mapped.
    func undo() -> Int {
        for (instance, _) in created.reversed() {
            instance.stop()
            instance.destroy()
        }
        created = []
        var retained = 0
        for library in opened where !library.close() { retained += 1 }
        opened = []
        return retained
    }
}
