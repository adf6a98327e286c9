#if canImport(Glibc)
import Glibc
#endif
import CIsolation
import CPluginABI
import Logging

/// Opens a plugin whose `[isolation.ALIAS]` says `mode = "process"`: the same checks
/// as an in-process library (permissions, signature, pin, ELF headers, on one sealed
/// copy of its bytes), then, instead of `dlopen` here, a plugin process of its own
/// (`plughost-plugin-process`) that loads that copy inside its sandbox. The result is a
/// ``PluginLibrary`` without an image, whose ``PluginLibrary/isolated`` proxy hands the
/// runtime a descriptor that crosses to the plugin process (see docs/CONTAINMENT.md).
enum IsolatedLibrary {
    /// Starts `entry`'s plugin process under `settings` and loads the plugin in it.
    static func open(_ entry: EntryPoint, settings: IsolationSettings, policy: LoadPolicy) throws(PluginError) -> PluginLibrary {
        let path = entry.libraryPath
        let alias = entry.alias
        // The plugin process loads these checked bytes (as a file copy, below); the sealed
        // in-memory copy is kept, like a loaded library's, for the supervisor's committed builds.
        let (shadow, _) = try PluginLibrary.checkedCopy(path: path, alias: alias, policy: policy, inMemory: true)
        var keepDescriptor = false
        defer { if let descriptor = shadow.descriptor, !keepDescriptor { close(descriptor) } }
        defer { if shadow.descriptor == nil { shadow.removeFile() } }
        let executable = try PluginProcessProgram.path(alias: alias, file: path)
        let stateFolder = try privateFolder(named: "isolated-" + alias, alias: alias, policy: policy, file: path)
        // Landlock cannot grant an in-memory file, so the plugin process loads a file copy of the
        // checked bytes, in a folder it may read but not write.
        let libraryFolder = try privateFolder(named: "isolated-" + alias + "-library", alias: alias, policy: policy, file: path)
        let libraryCopy = FileSystem.join(libraryFolder, String(shadow.digest.hex.prefix(16)) + "-" + FileSystem.fileName(of: path))
        do {
            if FileSystem.kind(of: libraryCopy) == .missing {
                try FileSystem.writeFile(libraryCopy, try FileSystem.readFile(shadow.path), mode: 0o500)
            }
        } catch {
            throw PluginError(.loadFailed, file: path, alias: alias, reason: "cannot copy the library for its plugin process: \(error.description)")
        }
        let readPaths = PluginProcessProgram.readPaths(pluginFolder: FileSystem.directory(of: path)) + [libraryFolder]
        var error = [CChar](repeating: 0, count: 1024)
        let isolated: OpaquePointer? = withCStrings(readPaths) { paths in
            alias.withCString { aliasText in
                libraryCopy.withCString { libraryText in
                    entry.symbol.withCString { entryText in
                        executable.withCString { executableText in
                            stateFolder.withCString { stateText in
                                var spec = ph_isolation_spec_t(
                                    alias: aliasText, library_path: libraryText, library_fd: -1,
                                    entry: entryText, executable: executableText, strict: settings.sandbox == .strict ? 1 : 0,
                                    memory_mb: UInt64(settings.memoryMB), open_files: UInt64(settings.openFiles),
                                    state_dir: stateText, read_paths: paths.baseAddress, read_path_count: paths.count,
                                    call_timeout_ms: Int32(clamping: settings.callTimeout.components.seconds * 1000
                                        + settings.callTimeout.components.attoseconds / 1_000_000_000_000_000))
                                return ph_isolated_open(&spec, &error, error.count)
                            }
                        }
                    }
                }
            }
        }
        guard let isolated else {
            let reason = String(decoding: error.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            throw PluginError(.loadFailed, file: path, alias: alias, reason: "in its plugin process: \(reason)")
        }
        keepDescriptor = true
        IsolatedDeaths.logger.info("[\(alias)] plugin process \(ph_isolated_pid(isolated)): \(String(cString: ph_isolated_sandbox(isolated)))")
        IsolatedDeaths.register(isolated, .init(alias: alias, manifestVersion: entry.packageVersion, sha256: shadow.digest.hex,
                                                crashLimit: policy.crashLimit, crashWindowSeconds: policy.crashWindowSeconds))
        return PluginLibrary(path: path, digest: shadow.digest, needsSwiftRuntime: false, handle: nil,
                             shadowDescriptor: shadow.descriptor, crashIndex: -1, isolated: isolated)
    }

    /// A folder of the plugin process's (its state folder, the copy of its library), in this
    /// host process's private shadow folder, made on demand.
    private static func privateFolder(named name: String, alias: String, policy: LoadPolicy, file: String) throws(PluginError) -> String {
        let base: String
        do {
            base = try ShadowFolder.current(stateDirectory: policy.stateDirectory)
        } catch {
            throw PluginError(.loadFailed, file: file, alias: alias, reason: "cannot make the plugin process's state folder: \(error.description)")
        }
        let folder = FileSystem.join(base, name)
        if mkdir(folder, 0o700) != 0 && errno != EEXIST {
            throw PluginError(.loadFailed, file: file, alias: alias, reason: "cannot create the plugin process's state folder \(folder): \(FileSystem.errorText())")
        }
        return folder
    }

    /// Calls `body` with `strings` as an array of C strings valid during the call.
    private static func withCStrings<R>(_ strings: [String], _ body: (UnsafeBufferPointer<UnsafePointer<CChar>?>) -> R) -> R {
        let copies = strings.map { strdup($0) }
        defer { copies.forEach { free($0) } }
        let pointers = copies.map { UnsafePointer($0) }
        return pointers.withUnsafeBufferPointer(body)
    }
}

/// Where `plughost-plugin-process` is, and what it may read.
enum PluginProcessProgram {
    /// The program's file name; it is installed next to `plughost`.
    static let name = "plughost-plugin-process"

    /// `PLUGHOST_PLUGIN_PROCESS` when set, else the program next to this process's executable.
    static func path(alias: String, file: String) throws(PluginError) -> String {
        if let configured = getenv("PLUGHOST_PLUGIN_PROCESS").map({ String(cString: $0) }), !configured.isEmpty {
            return configured
        }
        let executable = FileSystem.realPath("/proc/self/exe") ?? ""
        let candidate = FileSystem.join(FileSystem.directory(of: executable), name)
        guard access(candidate, X_OK) == 0 else {
            throw PluginError(.loadFailed, file: file, alias: alias,
                              reason: "isolated plugins run in \(name), which is not next to \(executable) (install it there, or set PLUGHOST_PLUGIN_PROCESS)")
        }
        return candidate
    }

    /// Files and folders the strict sandbox lets the plugin process read: the system's
    /// libraries and settings, the Swift runtime this host uses, and the plugin's own folder.
    static func readPaths(pluginFolder: String) -> [String] {
        // Of /etc only what the dynamic loader and the C and Swift runtimes read: the rest (the
        // host's own config with its admin token, say) stays out of reach.
        var paths = ["/usr", "/lib", "/lib64", "/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/localtime",
                     "/etc/nsswitch.conf", "/etc/passwd", "/etc/group", "/dev/null", "/dev/urandom", "/sys/devices/system/cpu",
                     "/proc/self", pluginFolder]
        if let runtime = swiftRuntimeFolder, !paths.contains(where: { runtime.hasPrefix($0 + "/") }) { paths.append(runtime) }
        return paths
    }

    /// The folder of the `libswiftCore.so` this process mapped (Swift plugins link it there).
    static let swiftRuntimeFolder: String? = {
        guard let maps = try? FileSystem.readFile("/proc/self/maps") else { return nil }
        for line in String(decoding: maps, as: UTF8.self).split(separator: "\n") {
            guard let slash = line.firstIndex(of: "/"), line.hasSuffix("/libswiftCore.so") else { continue }
            return FileSystem.directory(of: String(line[slash...]))
        }
        return nil
    }()
}

/// What the last call into an isolated plugin on this thread left for the host to answer.
public enum IsolatedCallFailure {
    /// Whether a failure waits to be taken (a thread-local read: cheap enough for every typed call).
    public static var isPending: Bool { ph_isolation_has_failure() != 0 }

    /// The failure (503 when its plugin process was gone, 504 when it hung), cleared as it is read;
    /// nil when the last call did not fail for that reason.
    public static func take() -> (status: Int, message: String)? {
        var status: UInt32 = 0
        var message = [CChar](repeating: 0, count: 512)
        guard ph_isolation_take_failure(&status, &message, message.count) != 0 else { return nil }
        return (Int(status), String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
    }
}
