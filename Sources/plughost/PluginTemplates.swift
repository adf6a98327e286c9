/// The files `plughost new` writes, and the names it derives from the plugin's name.
///
/// Each template is a raw string literal whose `@@TOKEN@@` placeholders
/// ``files(name:language:sdkPath:directory:)`` replaces in one pass (a value is
/// never scanned again). Every name is derived from the plugin's name, which is
/// also its alias, so that C, Swift and Rust plugins agree (for `my-plugin`):
///
/// | token | value | example |
/// |---|---|---|
/// | `NAME` | the name, as given: the alias, the manifest `my-plugin.toml`, the path `/my-plugin/hello` | `my-plugin` |
/// | `IDENT` | lower-cased, `-` as `_`: the Swift module and the Rust crate | `my_plugin` |
/// | `LIBRARY` | `lib` + IDENT + `.so` | `libmy_plugin.so` |
/// | `SYMBOL` | IDENT + `_entry`: the exported entry function | `my_plugin_entry` |
/// | `TYPE` | the Swift class: CamelCase + `Plugin` | `MyPlugin` |
/// | `SDK` | the PluginSDK folder, absolute | `/src/plughost/PluginSDK` |
/// | `DIR`, `FOLDER` | the plugins folder and the plugin's folder, as given, for the README | `plugins`, `plugins/my-plugin` |
/// | `TAB` | a tab (Makefile recipes) | |
///
/// No template holds a tab, a `"""` or a backslash followed by `#`.
enum PluginTemplates {
    /// The languages a plugin can be written in.
    enum Language: String, CaseIterable, Sendable {
        case c, swift, rust

        /// The language's name in prose.
        var displayName: String {
            switch self {
            case .c: "C"
            case .swift: "Swift"
            case .rust: "Rust"
            }
        }
    }

    /// The longest plugin name accepted (it names files and symbols).
    static let maxNameLength = 64

    /// The rule ``isValidName(_:)`` checks, for messages.
    static let nameRule = "1 to \(maxNameLength) letters, digits, '-' and '_', starting with a letter"

    /// Whether `name` can name a plugin: a valid alias (`[A-Za-z0-9_-]+`, the
    /// manifest's rule) that starts with an ASCII letter, so that the entry
    /// symbol, the Swift module and the Rust crate derived from it are identifiers.
    static func isValidName(_ name: String) -> Bool {
        guard let first = name.utf8.first, isLetter(first), name.utf8.count <= maxNameLength else { return false }
        return name.utf8.allSatisfy { isLetter($0) || ($0 >= 0x30 && $0 <= 0x39) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") }
    }

    private static func isLetter(_ byte: UInt8) -> Bool {
        (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
    }

    /// The name lower-cased with `-` as `_`: the library's stem, the entry
    /// symbol's prefix, the Swift module's and the Rust crate's name.
    /// Lower case keeps a Swift module from shadowing `Swift` or `PluginSDK`,
    /// and a Rust crate name snake_case.
    static func identifier(for name: String) -> String {
        String(decoding: name.utf8.map { byte -> UInt8 in
            if byte == UInt8(ascii: "-") { return UInt8(ascii: "_") }
            return byte >= 0x41 && byte <= 0x5A ? byte + 0x20 : byte
        }, as: UTF8.self)
    }

    /// The library file: `lib` + identifier + `.so`.
    static func library(for name: String) -> String { "lib\(identifier(for: name)).so" }

    /// The exported entry function the manifest names: identifier + `_entry`.
    static func entrySymbol(for name: String) -> String { "\(identifier(for: name))_entry" }

    /// The Swift class: the name's parts (split at `-` and `_`) capitalised and
    /// joined, plus `Plugin` unless it ends so already (`my-plugin`: `MyPlugin`,
    /// `greeter`: `GreeterPlugin`, `plugin`: `PluginPlugin`). The suffix keeps it
    /// from clashing with a type of the SDK or the standard library (`Plugin`, `String`).
    static func typeName(for name: String) -> String {
        let camel = name.split(whereSeparator: { $0 == "-" || $0 == "_" })
            .map { $0.prefix(1).uppercased() + $0.dropFirst() }
            .joined()
        return camel.hasSuffix("Plugin") && camel != "Plugin" ? camel : camel + "Plugin"
    }

    /// The file the plugin's code is in, relative to its folder.
    static func sourceFile(for name: String, language: Language) -> String {
        switch language {
        case .c: "\(name).c"
        case .swift: "\(typeName(for: name)).swift"
        case .rust: ".crate/src/lib.rs"
        }
    }

    /// The files of plugin `name`, with paths relative to its folder (`directory/name`):
    /// README.md, the manifest, the Makefile, .gitignore and the sources.
    /// - Parameters:
    ///   - name: A name ``isValidName(_:)`` accepts.
    ///   - sdkPath: The PluginSDK folder, absolute, as the Makefile's default `PLUGHOST_SDK`.
    ///   - directory: The plugins folder as the user named it, for the commands in the README.
    static func files(name: String, language: Language, sdkPath: String, directory: String = "plugins")
        -> [(path: String, contents: String, executable: Bool)]
    {
        precondition(isValidName(name), "invalid plugin name '\(name)'")
        let folder = directory == "/" ? "/" + name : directory + "/" + name
        let values = [
            "NAME": name,
            "IDENT": identifier(for: name),
            "LIBRARY": library(for: name),
            "SYMBOL": entrySymbol(for: name),
            "TYPE": typeName(for: name),
            "SDK": sdkPath,
            "DIR": shellWord(directory),
            "FOLDER": shellWord(folder),
            "LANG": language.rawValue,
            "LANGUAGE": language.displayName,
            "TAB": "\t",
        ]
        func file(_ path: String, _ template: String) -> (path: String, contents: String, executable: Bool) {
            (path, render(template, values), false)
        }
        let readmeFiles: String
        let makefile: String
        let gitignore: String
        let sources: [(path: String, contents: String, executable: Bool)]
        switch language {
        case .c:
            readmeFiles = readmeFilesC
            makefile = makefileC
            gitignore = gitignoreNative
            sources = [file(sourceFile(for: name, language: .c), sourceC)]
        case .swift:
            readmeFiles = readmeFilesSwift
            makefile = makefileSwift
            gitignore = gitignoreNative
            sources = [file(sourceFile(for: name, language: .swift), sourceSwift)]
        case .rust:
            readmeFiles = readmeFilesRust
            makefile = makefileRust
            gitignore = gitignoreRust
            sources = [file(".crate/Cargo.toml", cargoToml), file(".crate/src/lib.rs", rustLib)]
        }
        return [
            file("README.md", [readmeHead, readmeFiles, readmeTail].joined(separator: "\n\n")),
            file("\(name).toml", manifest),
            file("Makefile", makefile),
            file(".gitignore", gitignore),
        ] + sources
    }

    /// A template's text (a resource file in `Sources/plughost/Templates`, embedded in the executable).
    private static func text(_ bytes: [UInt8]) -> String {
        String(decoding: bytes, as: UTF8.self)
    }

    /// `template` with each `@@TOKEN@@` replaced by its value, and a final newline.
    static func render(_ template: String, _ values: [String: String]) -> String {
        var out = ""
        for (index, piece) in template.split(separator: "@@", omittingEmptySubsequences: false).enumerated() {
            if index % 2 == 0 {
                out += piece
            } else {
                guard let value = values[String(piece)] else { preconditionFailure("template token @@\(piece)@@ has no value") }
                out += value
            }
        }
        return out + "\n"
    }

    /// `text` as one shell word: as it is when it holds only characters no shell
    /// treats specially, else in single quotes.
    static func shellWord(_ text: String) -> String {
        let plain = !text.isEmpty && text.utf8.allSatisfy { byte in
            isLetter(byte) || (byte >= 0x30 && byte <= 0x39) || "/._-+,:@%=".utf8.contains(byte) || byte >= 0x80
        }
        if plain { return text }
        var quoted = "'"
        for character in text {
            quoted += character == "'" ? "'\\''" : String(character)
        }
        return quoted + "'"
    }

    // MARK: - Templates shared by every language

    /// README.md, first part: build, check, load and reload; what the plugin does.
    static var readmeHead: String { text(PackageResources.readmeHead_template) }

    /// README.md, last part: where to read more.
    static var readmeTail: String { text(PackageResources.readmeTail_template) }

    /// NAME.toml: the manifest.
    static var manifest: String { text(PackageResources.manifest_template) }

    /// .gitignore of a C or Swift plugin.
    static var gitignoreNative: String { text(PackageResources.gitignoreNative_template) }

    // MARK: - C

    /// README.md, the files of a C plugin.
    static var readmeFilesC: String { text(PackageResources.readmeFilesC_template) }

    /// Makefile of a C plugin.
    static var makefileC: String { text(PackageResources.makefileC_template) }

    /// NAME.c.
    static var sourceC: String { text(PackageResources.sourceC_template) }

    // MARK: - Swift

    /// README.md, the files of a Swift plugin.
    static var readmeFilesSwift: String { text(PackageResources.readmeFilesSwift_template) }

    /// Makefile of a Swift plugin: the plugin is the first rule, so a plain `make` builds it (and the SDK archive it needs).
    static var makefileSwift: String { text(PackageResources.makefileSwift_template) }

    /// TYPE.swift.
    static var sourceSwift: String { text(PackageResources.sourceSwift_template) }

    // MARK: - Rust

    /// README.md, the files of a Rust plugin.
    static var readmeFilesRust: String { text(PackageResources.readmeFilesRust_template) }

    /// Makefile of a Rust plugin: cargo, then the install plugin.mk does for C and Swift.
    static var makefileRust: String { text(PackageResources.makefileRust_template) }

    /// .gitignore of a Rust plugin.
    static var gitignoreRust: String { text(PackageResources.gitignoreRust_template) }

    /// .crate/Cargo.toml. The crate is in a folder whose name starts with '.': the host reads every *.toml in a plugin folder and in the folders below it (but those) as a manifest.
    static var cargoToml: String { text(PackageResources.cargoToml_template) }

    /// .crate/src/lib.rs.
    static var rustLib: String { text(PackageResources.rustLib_template) }
}
