import CPluginABI

/// Thin doors into the runtime's internal parsers for the libFuzzer targets in
/// `Fuzz/` and for the corpus replay test, which feed them hostile bytes.
///
/// They are `@_spi(Fuzzing)` so that the fuzz package (a separate SwiftPM
/// package that cannot use `@testable import` in a release build) can reach
/// them without making the parsers part of the public API. Each entry takes
/// the raw input, runs it through the same code the host runs on such bytes,
/// renders every error the way the host would (message building is code that
/// sees hostile text too), and returns the broken invariant, or nil when all
/// held. A rejected input is not a failure; a crash or a broken invariant is.
@_spi(Fuzzing) public enum FuzzEntryPoints {
    /// One fuzz target: its name (also its corpus folder, `Fuzz/Corpus/NAME/`) and its entry.
    public struct Target: Sendable {
        /// The name, e.g. `manifest`.
        public let name: String
        /// Runs one input; returns the broken invariant, or nil.
        public let run: @Sendable ([UInt8]) -> String?

        /// A target named `name` running `run`.
        public init(name: String, run: @escaping @Sendable ([UInt8]) -> String?) {
            self.name = name
            self.run = run
        }
    }

    /// The runtime's targets, in the order `make fuzz` runs them (the HTTP
    /// extension adds its own: `HTTPFuzzEntryPoints.allTargets`).
    public static let targets: [Target] = [
        Target(name: "manifest", run: manifest),
        Target(name: "hostconfig", run: hostConfig),
        Target(name: "elf", run: elf),
    ]

    /// The body of `LLVMFuzzerTestOneInput` for target `name`: traps on a
    /// broken invariant so that libFuzzer records the input as a crash.
    public static func fuzz(_ name: String, _ data: UnsafePointer<UInt8>?, _ count: Int, in targets: [Target] = targets) -> Int32 {
        let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: count)) } ?? []
        guard let target = targets.first(where: { $0.name == name }) else { fatalError("no fuzz target '\(name)'") }
        if let problem = target.run(bytes) { fatalError("fuzz target \(name): \(problem)") }
        return 0
    }

    /// A plugin manifest file: TOML, then ``PluginManifest`` validation.
    public static func manifest(_ bytes: [UInt8]) -> String? {
        guard let document = tomlDocument(bytes) else { return nil }
        do {
            let manifest = try PluginManifest.parse(document, path: "plugins/fuzz/fuzz.toml")
            for entry in manifest.entryPoints {
                guard PluginManifest.isValidAlias(entry.alias) else { return "accepted alias '\(entry.alias)'" }
                guard !entry.library.isEmpty, !entry.symbol.isEmpty else { return "accepted entry '\(entry.library):\(entry.symbol)'" }
                _ = entry.libraryPath
            }
            _ = manifest.problems.map(\.description)
        } catch {
            _ = error.description
        }
        return nil
    }

    /// The host config file (`plughost.toml`): TOML, then ``HostConfig`` validation.
    public static func hostConfig(_ bytes: [UInt8]) -> String? {
        guard let document = tomlDocument(bytes) else { return nil }
        do {
            let config = try HostConfig.parse(document, path: "plughost.toml")
            _ = ConfigValue.table(config.pluginConfigs.mapValues { .table($0) }).json
        } catch {
            _ = error.description
        }
        return nil
    }

    /// A TOML file's bytes through the same parser entry `TOMLDocument.load` uses
    /// (it checks UTF-8 itself), then rendered as the admin endpoints render config values.
    static func tomlDocument(_ bytes: [UInt8]) -> [String: ConfigValue]? {
        do {
            let document = try TOMLDocument.parse(bytes)
            _ = ConfigValue.table(document).json
            return document
        } catch {
            _ = error.description  // 'line L, column C: reason', built from the hostile text
            return nil
        }
    }

    /// A shared library's bytes, as checked before `dlopen`.
    public static func elf(_ bytes: [UInt8]) -> String? {
        do {
            let image = try ELFImage.inspect(bytes: bytes)
            _ = image.needsSwiftRuntime
        } catch {
            _ = error.description
        }
        return nil
    }
}
