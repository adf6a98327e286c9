#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser

extension PluginTemplates.Language: ExpressibleByArgument {}

/// `plughost new NAME --lang c|swift|rust`: a plugin folder to start from, which
/// `make -C DIR/NAME` builds and `plughost check DIR/NAME` passes.
struct New: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a new plugin folder in C, Swift or Rust: source, manifest, Makefile, README.",
        discussion: """
            Writes DIR/NAME/ with the plugin's source (one event subscriber, one endpoint GET /NAME/hello, \
            a parse_config that takes an optional 'greeting'), its manifest NAME.toml, a Makefile that builds \
            it with PluginSDK/plugin.mk (and cargo for Rust), a README saying how to build, check, load and \
            reload it, and a .gitignore. Then `make -C DIR/NAME` builds it and `plughost check DIR/NAME` passes. \
            An existing DIR/NAME is refused: plughost new never overwrites.

            The SDK is --sdk, else $PLUGHOST_SDK, else the first PluginSDK folder found in the current folder \
            or one above it, else next to the plughost executable or in a folder above it (a source checkout), \
            or in PREFIX/share/plughost/PluginSDK for an installed PREFIX/bin/plughost. The Makefile names it \
            as the default of PLUGHOST_SDK.
            """)

    @Argument(help: "The plugin's name, also its alias: \(PluginTemplates.nameRule).")
    var name: String

    @Option(name: .long, help: "The language of the source.")
    var lang: PluginTemplates.Language

    @Option(name: .long, help: "The plugins folder to write NAME/ into (made if missing).")
    var dir = "plugins"

    @Option(name: .long, help: "The PluginSDK folder to build against (the one with plugin.mk and include/plughost/).")
    var sdk: String?

    func validate() throws {
        guard PluginTemplates.isValidName(name) else {
            throw ValidationError("'\(name)' is not a valid plugin name: use \(PluginTemplates.nameRule). It is the alias "
                + "([A-Za-z0-9_-]+ in a manifest) and names the library and the entry symbol, a C identifier "
                + "(my-plugin: libmy_plugin.so, my_plugin_entry)")
        }
        guard !dir.isEmpty, !dir.utf8.contains(where: { $0 < 0x20 || $0 == 0x7F }) else {
            throw ValidationError("--dir must name a folder, without control characters")
        }
        if Self.entryExists(folder) {
            throw ValidationError("\(folder) already exists: plughost new never overwrites")
        }
        _ = try findSDK()
    }

    /// The plugins folder as given, without trailing slashes.
    private var directory: String {
        var directory = dir
        while directory.count > 1 && directory.hasSuffix("/") { directory.removeLast() }
        return directory
    }

    /// The plugin's folder: DIR/NAME.
    private var folder: String { directory == "/" ? "/" + name : directory + "/" + name }

    func run() throws {
        let sdkPath = try findSDK()
        let directory = self.directory
        let folder = self.folder
        if Self.entryExists(folder) {  // again: it may have appeared since validate()
            throw ValidationError("\(folder) already exists: plughost new never overwrites")
        }
        let files = PluginTemplates.files(name: name, language: lang, sdkPath: sdkPath, directory: directory)

        var made: [String] = []  // folders and files, in creation order, removed again if a step fails
        do {
            try Self.makeFolders(directory, made: &made)
            guard mkdir(folder, 0o755) == 0 else {
                if errno == EEXIST { throw ValidationError("\(folder) already exists: plughost new never overwrites") }
                throw HostFileError("cannot create \(folder): \(String(cString: strerror(errno)))")
            }
            made.append(folder)
            _ = chmod(folder, 0o755)  // the umask may have cleared bits; a host refuses group-writable folders
            for file in files {
                let path = folder + "/" + file.path
                try Self.makeFolders(Self.parent(of: path), made: &made)
                // O_EXCL: never overwrites, even a file that appeared meanwhile.
                try FileSystem.createExclusively(path, file.contents, mode: file.executable ? 0o755 : 0o644)
                made.append(path)
            }
        } catch {
            for path in made.reversed() where unlink(path) != 0 { _ = rmdir(path) }
            throw error
        }

        let shown = PluginTemplates.shellWord(folder)
        print("created \(folder)/: a \(lang.displayName) plugin, alias '\(name)', entry "
            + "\(PluginTemplates.library(for: name)):\(PluginTemplates.entrySymbol(for: name))")
        for file in files { print("  \(folder)/\(file.path)") }
        print("SDK: \(sdkPath) (PLUGHOST_SDK in the Makefile)")
        print("")
        print("next:")
        print("  make -C \(shown)")
        print("  plughost check \(shown)")
        print("  then add \"\(name)\" to enabled under [host] in the host config, and serve or reload:")
        print("  plughost serve --plugins \(PluginTemplates.shellWord(directory)) --config plughost.toml")
        print("  plughost reload    (or: kill -HUP $(cat plughost.pid))")
        print("  curl http://127.0.0.1:8080/\(name)/hello")
    }

    // MARK: - The SDK

    /// The PluginSDK folder, absolute: --sdk, $PLUGHOST_SDK, or the first one found
    /// from the current folder up, then from the executable's folder up.
    private func findSDK() throws -> String {
        if let sdk {
            return try Self.usableSDK(sdk, named: "--sdk \(sdk)", language: lang)
        }
        if let variable = getenv("PLUGHOST_SDK"), variable.pointee != 0 {
            let path = String(cString: variable)
            return try Self.usableSDK(path, named: "$PLUGHOST_SDK (\(path))", language: lang)
        }
        var looked: [String] = []
        for candidate in Self.sdkCandidates() where !looked.contains(candidate) {
            looked.append(candidate)
            if Self.missingSDKFiles(candidate, language: lang).isEmpty {
                return try Self.usableSDK(candidate, named: candidate, language: lang)
            }
        }
        throw ValidationError("found no PluginSDK folder (looked for \(looked.joined(separator: ", "))): pass --sdk PATH")
    }

    /// Folders that may be the SDK, in the order they are tried.
    private static func sdkCandidates() -> [String] {
        var candidates: [String] = []
        if let cwd = currentDirectory() {
            candidates += ancestors(of: cwd).map { join($0, "PluginSDK") }
        }
        // /proc/self/exe: the executable itself, whatever argv[0] says (a relative path, a symlink on PATH).
        if let executable = resolved("/proc/self/exe") {
            for folder in ancestors(of: parent(of: executable)) {
                candidates.append(join(folder, "PluginSDK"))
                candidates.append(join(folder, "share/plughost/PluginSDK"))
            }
        }
        return candidates
    }

    /// The SDK files the Makefile needs that `folder` lacks.
    private static func missingSDKFiles(_ folder: String, language: PluginTemplates.Language) -> [String] {
        var needed = ["plugin.mk", "include/plughost/plugin.h", "include/plughost/http.h"]
        if language == .swift { needed.append("Swift/Plugin.swift") }
        if language == .rust { needed.append("rust/abi.rs") }
        return needed.filter { access(join(folder, $0), R_OK) != 0 }
    }

    /// `path` as the absolute folder the Makefile will name, or a ValidationError saying why it cannot.
    private static func usableSDK(_ path: String, named: String, language: PluginTemplates.Language) throws -> String {
        let missing = missingSDKFiles(path, language: language)
        guard missing.isEmpty else {
            throw ValidationError("\(named) is not a PluginSDK folder: it lacks \(missing.joined(separator: ", "))")
        }
        // The real path, unless only the path as given (made absolute) is one make can take.
        let choices = [resolved(path), absolute(path)].compactMap { $0 }
        guard let usable = choices.first(where: isMakeSafe) else {
            throw ValidationError("\(named): make cannot use the path \(choices.first ?? path) in a Makefile "
                + "(spaces and the characters # $ : ; = % * ? [ ] \\ ' \" | ( ) break it): "
                + "pass --sdk with a path without them, e.g. a symlink")
        }
        return usable
    }

    /// Whether `path` can stand in a Makefile's prerequisites as it is.
    private static func isMakeSafe(_ path: String) -> Bool {
        path.hasPrefix("/") && path.utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                || "/._-+,@".utf8.contains(byte) || byte >= 0x80
        }
    }

    // MARK: - Paths and folders

    /// Whether anything (a dangling symlink included) is at `path`.
    private static func entryExists(_ path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0
    }

    /// Makes `path` and the folders above it that are missing, mode 0755 whatever the umask.
    private static func makeFolders(_ path: String, made: inout [String]) throws {
        var info = stat()
        if stat(path, &info) == 0 {
            guard (info.st_mode & S_IFMT) == S_IFDIR else { throw ValidationError("\(path) exists and is not a folder") }
            return
        }
        let above = parent(of: path)
        if above != path { try makeFolders(above, made: &made) }
        guard mkdir(path, 0o755) == 0 else {
            if errno == EEXIST { return }  // made meanwhile by someone else: not ours to remove
            throw HostFileError("cannot create \(path): \(String(cString: strerror(errno)))")
        }
        made.append(path)
        _ = chmod(path, 0o755)
    }

    private static func currentDirectory() -> String? {
        guard let pointer = getcwd(nil, 0) else { return nil }
        defer { free(pointer) }
        return String(cString: pointer)
    }

    /// The real path of `path` (symlinks resolved), nil if it does not exist.
    private static func resolved(_ path: String) -> String? {
        guard let pointer = realpath(path, nil) else { return nil }
        defer { free(pointer) }
        return String(cString: pointer)
    }

    /// `path` made absolute against the current folder, without "." components or a trailing "/".
    private static func absolute(_ path: String) -> String? {
        let full: String
        if path.hasPrefix("/") {
            full = path
        } else {
            guard let cwd = currentDirectory() else { return nil }
            full = join(cwd, path)
        }
        let parts = full.split(separator: "/").filter { $0 != "." }
        return "/" + parts.joined(separator: "/")
    }

    /// The folder above `path` ("/" for "/x" and "/"; "." for a bare name).
    private static func parent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    /// `folder` and each folder above it, up to "/".
    private static func ancestors(of folder: String) -> [String] {
        var result = [folder]
        while let last = result.last, last != "/", last != "." {
            result.append(parent(of: last))
        }
        return result
    }

    private static func join(_ folder: String, _ name: String) -> String {
        folder.hasSuffix("/") ? folder + name : folder + "/" + name
    }
}
