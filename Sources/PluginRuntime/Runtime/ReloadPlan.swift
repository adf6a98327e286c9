/// What a reload does with each enabled alias, decided from fingerprints
/// before anything is loaded.
struct ReloadPlan {
    /// The fate of one enabled alias.
    enum Decision {
        /// Unchanged: the running instance moves into the new generation as it is.
        case keep(PluginInstance)
        /// It failed before and nothing about it changed: not retried.
        case stillFailed
        /// Create a new instance, replacing `replacing` if it runs, from `reusing` when the library did not change.
        case build(replacing: PluginInstance?, reusing: LoadedPlugin?)
        /// Its build on disk is quarantined: left out (`replacing` retires if it runs), its guards fenced.
        case quarantined(replacing: PluginInstance?, FailedPlugin)
    }

    /// Every enabled alias in the new config order, with its decision.
    private(set) var decisions: [(entry: EntryPoint, decision: Decision)]
    /// Unchanged aliases that must be re-created because a service they use is replaced or removed.
    private(set) var recreated: [String] = []

    /// Compares `plan` (with `config`) with the `running` instances and the `failed` aliases;
    /// a build the `quarantine` holds is left out, running or not, except that a quarantined
    /// build on disk never replaces a running build of the same alias that is not quarantined.
    init(plan: LoadPlan, config: HostConfig, running: [PluginInstance], failed: [String: FailedPlugin],
         quarantine: QuarantineList = .none) {
        let byAlias = Dictionary(uniqueKeysWithValues: running.map { ($0.alias, $0) })
        decisions = plan.enabled.map { entry in
            let fingerprint = PluginFingerprint(entry, config: config)
            if let held = quarantine.entry(alias: entry.alias, sha256: fingerprint.contentHash) {
                // A quarantined new build never replaces a running build that is not quarantined:
                // the last good build keeps serving (a build that crashed while it was prepared, say).
                if let old = byAlias[entry.alias], quarantine.entry(alias: old.alias, sha256: old.loaded.contentHash) == nil {
                    return (entry, .keep(old))
                }
                return (entry, .quarantined(replacing: byAlias[entry.alias],
                                            FailedPlugin(quarantined: entry, fingerprint: fingerprint, quarantine: held)))
            }
            if let old = byAlias[entry.alias] {
                if PluginFingerprint(old) == fingerprint { return (entry, .keep(old)) }
                let sameLibrary = old.loaded.entry == entry && old.loaded.contentHash == fingerprint.contentHash
                return (entry, .build(replacing: old, reusing: sameLibrary ? old.loaded : nil))
            }
            // A quarantine lifted by hand retries the same build.
            if let failure = failed[entry.alias], failure.fingerprint == fingerprint, failure.quarantine == nil { return (entry, .stillFailed) }
            return (entry, .build(replacing: nil, reusing: nil))
        }
        recreateUsers(ofReplacedAmong: running)
    }

    /// Re-creates kept plugins that looked up a service of a replaced or removed one, until none is left.
    private mutating func recreateUsers(ofReplacedAmong running: [PluginInstance]) {
        var replaced = Set(running.map(\.alias))
        for (_, decision) in decisions { if case .keep(let old) = decision { replaced.remove(old.alias) } }
        var found = true
        while found {
            found = false
            for index in decisions.indices {
                guard case .keep(let old) = decisions[index].decision, !old.context.providers.isDisjoint(with: replaced) else { continue }
                decisions[index].decision = .build(replacing: old, reusing: old.loaded)
                replaced.insert(old.alias)
                recreated.append(old.alias)
                found = true
            }
        }
    }

    /// Whether the reload would keep exactly `current`, in the same order.
    func keepsAsIs(_ current: Generation) -> Bool {
        var kept: [String] = []
        for (_, decision) in decisions {
            switch decision {
            case .keep(let old): kept.append(old.alias)
            case .stillFailed, .quarantined(replacing: nil, _): continue
            case .build, .quarantined: return false
            }
        }
        return kept == current.aliases
    }
}
