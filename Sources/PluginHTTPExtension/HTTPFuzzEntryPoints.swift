import CPluginABI
import Logging
@_spi(Fuzzing) public import PluginRuntime

/// The HTTP extension's doors for the libFuzzer targets in `Fuzz/` and the
/// corpus replay test (see `FuzzEntryPoints` in the runtime for the rules:
/// each returns the broken invariant, or nil; a refused input is no failure).
@_spi(Fuzzing) public enum HTTPFuzzEntryPoints {
    /// Every target, the runtime's and the HTTP extension's, in the order `make fuzz` runs them.
    public static let allTargets: [FuzzEntryPoints.Target] = [
        FuzzEntryPoints.targets[0],
        // The host config with the HTTP server's keys declared, as `plughost` loads it.
        FuzzEntryPoints.Target(name: "hostconfig", run: { bytes in
            HTTPServerConfig.declare()
            return FuzzEntryPoints.hostConfig(bytes)
        }),
        FuzzEntryPoints.Target(name: "route", run: route),
        FuzzEntryPoints.Target(name: "typedvalue", run: typedValue),
        FuzzEntryPoints.Target(name: "json", run: json),
    ] + FuzzEntryPoints.targets.dropFirst(2)

    /// JSON bodies and results, and schemas: the input is `schema NUL document` (or only a
    /// document). The strict reader and the allocation-free checker agree on every input; a
    /// document that parses writes back as text that parses to the same text; a schema
    /// that compiles checks the document without failing.
    public static func json(_ bytes: [UInt8]) -> String? {
        let split = bytes.firstIndex(of: 0)
        let document = split.map { Array(bytes[($0 + 1)...]) } ?? bytes
        let parsed: JSONValue?
        do throws(JSONParser.Malformed) { parsed = try JSONParser.parse(document) } catch {
            guard error.offset >= 0, error.offset <= document.count else { return "error offset \(error.offset) outside the document" }
            parsed = nil
        }
        let checked = document.withUnsafeBufferPointer { (try? JSONParser.check($0)) != nil }
        if (parsed != nil) != checked { return "parse (\(parsed != nil)) and check (\(checked)) disagree" }
        if let parsed {
            let text = parsed.text
            guard let again = try? JSONParser.parse(text) else { return "the written form \(text) does not parse" }
            if again.text != text { return "the written form is not stable: \(text) then \(again.text)" }
        }
        if let split, let schema = try? JSONSchema.compile(text: String(decoding: bytes[..<split], as: UTF8.self)) {
            guard (try? JSONParser.parse(schema.document.text)) != nil else { return "a compiled schema does not write back as JSON" }
            if let parsed, let violation = schema.violation(in: parsed), !violation.pointer.isEmpty, !violation.pointer.hasPrefix("/") {
                return "violation pointer '\(violation.pointer)' is not a JSON Pointer"
            }
        }
        return nil
    }

    /// The body of `LLVMFuzzerTestOneInput` for any target `name`.
    public static func fuzz(_ name: String, _ data: UnsafePointer<UInt8>?, _ count: Int) -> Int32 {
        FuzzEntryPoints.fuzz(name, data, count, in: allTargets)
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
            let reference = pattern.match(segments)
            if let captures = reference, captures.count != pattern.captureNames.count {
                return "pattern '\(pattern)' matched '\(path)' with \(captures.count) captures, not \(pattern.captureNames.count)"
            }
            // The byte router serving requests agrees with the reference match, captures included.
            if let problem = routerAgrees(pattern, path: path, reference: reference) { return problem }
        }

        let inPlace = pathBytes.withUnsafeBufferPointer { source in
            [UInt8](unsafeUninitializedCapacity: source.count) { output, count in
                count = source.isEmpty ? 0 : PercentDecoding.decode(source, plusIsSpace: false, into: output.baseAddress!)
            }
        }
        guard inPlace == PercentDecoding.decodeBytes(pathBytes) else { return "in-place decoding of '\(path)' differs" }
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

    /// Whether an endpoint table with only `pattern` routes `path` as `reference` says.
    private static func routerAgrees(_ pattern: PathPattern, path: String, reference: [(String, [UInt8])]?) -> String? {
        let owner = PluginOwner(alias: "fuzz", libraryPath: "fuzz.so", logger: .init(label: "fuzz"), lock: nil)
        let registration = EndpointRegistration(method: "GET", pattern: pattern, kind: .raw(handler: { _, _, _ in PH_OK }, userData: nil),
                                                owner: owner)
        let table = EndpointTable(endpoints: [registration], wrappers: [])
        switch (table.lookup(method: "GET", path: path), reference) {
        case (.found(_, let captures), let expected?):
            guard captures.map(\.0) == expected.map(\.0), captures.map(\.1) == expected.map(\.1) else {
                return "router captures of '\(path)' under '\(pattern)' differ from the reference"
            }
        case (.notFound, nil):
            break
        case (.methodNotAllowed, _):
            return "router answered 405 for the only method '\(path)' could have"
        default:
            return "router and reference disagree on whether '\(pattern)' matches '\(path)'"
        }
        if reference != nil {
            guard case .methodNotAllowed(let allowed) = table.lookup(method: "POST", path: path), allowed == ["GET"] else {
                return "POST '\(path)' under '\(pattern)' is not a 405 allowing GET"
            }
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

}
