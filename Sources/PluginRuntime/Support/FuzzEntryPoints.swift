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
    }

    /// Every target, in the order `make fuzz` runs them.
    public static let targets: [Target] = [
        Target(name: "manifest", run: manifest),
        Target(name: "hostconfig", run: hostConfig),
        Target(name: "route", run: route),
        Target(name: "typedvalue", run: typedValue),
        Target(name: "elf", run: elf),
    ]

    /// The body of `LLVMFuzzerTestOneInput` for target `name`: traps on a
    /// broken invariant so that libFuzzer records the input as a crash.
    public static func fuzz(_ name: String, _ data: UnsafePointer<UInt8>?, _ count: Int) -> Int32 {
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

    /// Routing: the input's first line is a path pattern, the rest a request path.
    ///
    /// Splits the path as `EndpointTable.lookup` does (empty segments ignored)
    /// and also checks percent-decoding of the path and as a query string.
    public static func route(_ bytes: [UInt8]) -> String? {
        let newline = bytes.firstIndex(of: UInt8(ascii: "\n")) ?? bytes.endIndex
        let patternText = String(decoding: bytes[..<newline], as: UTF8.self)
        let pathBytes = newline < bytes.endIndex ? Array(bytes[(newline + 1)...]) : []
        let path = String(decoding: pathBytes, as: UTF8.self)
        let segments = path.split(separator: "/", omittingEmptySubsequences: true)

        switch PathPattern.parse(patternText) {
        case .failure(let error):
            _ = error.reason
        case .success(let pattern):
            _ = pattern.shape
            let own = pattern.description.split(separator: "/", omittingEmptySubsequences: true)
            guard let captures = pattern.match(own), captures.count == pattern.captureNames.count else {
                return "pattern '\(pattern)' does not match its own text"
            }
            if let captures = pattern.match(segments), captures.count != pattern.captureNames.count {
                return "pattern '\(pattern)' matched '\(path)' with \(captures.count) captures, not \(pattern.captureNames.count)"
            }
        }

        _ = PercentDecoding.decode(path)
        _ = PercentDecoding.decode(path, plusIsSpace: true)
        // Every byte escaped must decode to exactly the bytes escaped.
        let escaped = pathBytes.map { "%" + String($0 >> 4, radix: 16) + String($0 & 0xF, radix: 16, uppercase: true) }.joined()
        let expected = String(decoding: pathBytes, as: UTF8.self)
        guard PercentDecoding.decode(escaped) == expected, PercentDecoding.decode(escaped, plusIsSpace: true) == expected else {
            return "'\(escaped)' does not decode to the bytes escaped"
        }
        return nil
    }

    /// A typed endpoint parameter: the first byte picks the `ph_type_t` (mod 9,
    /// so void and one unknown tag are tried too), the rest is the value.
    public static func typedValue(_ bytes: [UInt8]) -> String? {
        guard let tag = bytes.first else { return nil }
        let type = ph_type_t(UInt32(tag % 9))
        let text = Array(bytes.dropFirst())
        let value: TypedValue
        switch TypedValue.parse(text, as: type) {
        case .failure(let error): _ = error.reason; return nil
        case .success(let parsed): value = parsed
        }
        _ = value.json
        guard value.type == type else { return "parsed as \(value.type), asked for \(type)" }
        guard TypedValue.decode(type: type, bytes: value.encoded) == value else { return "\(value) does not survive its ABI encoding" }
        switch value {
        case .int64(let number):
            // The byte fast path must agree with Swift's own integer parsing.
            if let slow = Int64(String(decoding: text, as: UTF8.self)), slow != number { return "int64 \(number), Int64() says \(slow)" }
        case .string(let string):
            guard !string.utf8.contains(0) else { return "string with a NUL byte accepted" }
        default: break
        }
        switch value {
        case .bool, .int32, .int64, .uint64, .double:
            // What the host answers as JSON must read back as the same value.
            guard (try? TypedValue.parse(Array(value.json.utf8), as: type).get()) == value else {
                return "\(value) does not read back from its JSON \(value.json)"
            }
        default: break
        }
        return nil
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
