/// The libraries one load pass (a start, a reload, a check) opens, by path:
/// aliases declared in the same library share one image, as they would with a
/// plain `dlopen`, so their entry points see the same globals.
///
/// The pass holds one use of each library it opened until ``finish()``.
final class LibraryPass {
    private var libraries: [String: PluginLibrary] = [:]
    private var owned: [PluginLibrary] = []
    /// Permissions, pins and signatures every library of the pass must satisfy.
    let policy: LoadPolicy

    /// The aliases each library path serves in this pass: every one's pin is
    /// checked before the library's first `dlopen`, not only the first alias's.
    private let aliasesByPath: [String: [String]]
    /// The manifest's package version of each library path, for the crash journal.
    private let versionByPath: [String: String]

    /// A pass under `policy` over the `planned` entry points, that also shares
    /// `running` libraries (a reload: unchanged plugins keep their image).
    init(policy: LoadPolicy, planned: [EntryPoint], sharing running: [PluginLibrary] = []) {
        self.policy = policy
        aliasesByPath = Dictionary(grouping: planned, by: \.libraryPath).mapValues { $0.map(\.alias) }
        versionByPath = Dictionary(planned.map { ($0.libraryPath, $0.packageVersion) }, uniquingKeysWith: { first, _ in first })
        let shared = Set(running.map(\.path))
        for library in running { libraries[library.path] = library }
        // Libraries this pass will open for the first time are tried in a probe process first
        // (not those only isolated plugins use: their plugin process is the probe, and a sandboxed one).
        let inProcess = planned.filter { policy.isolation[$0.alias]?.mode != .process }
        probeFailures = LibraryProbe.check(inProcess.map(\.libraryPath).filter { !shared.contains($0) })
    }

    /// Why libraries that crashed a probe process were refused, by path.
    private let probeFailures: [String: String]

    /// One use of the library at `path`: the one this pass has (checked against
    /// `alias`'s pin and the signature rules), or a new shadow-copied image.
    func open(path: String, alias: String) throws(PluginError) -> PluginLibrary {
        if let library = libraries[path] {
            try policy.admit(library, alias: alias)
            return library.share()
        }
        if let reason = probeFailures[path] {
            throw PluginError(.loadFailed, file: path, alias: alias, reason: "loading it crashed a probe process: \(reason)")
        }
        LibraryProbe.willOpen(path)
        let library = try PluginLibrary.open(path: path, alias: alias, policy: policy,
                                             sharedWith: (aliasesByPath[path] ?? []).filter { $0 != alias },
                                             version: versionByPath[path] ?? "")
        libraries[path] = library
        owned.append(library)
        return library.share()
    }

    /// Gives back the pass's own uses.
    /// - Returns: How many Swift images this left mapped.
    @discardableResult
    func finish() -> Int {
        defer { owned = [] }
        return owned.filter { $0.release() == .keptMapped }.count
    }
}
