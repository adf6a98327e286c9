#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Logging

/// `--log-format json`: one JSON object per line on standard error, for log
/// shippers: `time` (RFC 3339, UTC, milliseconds), `level`, `label`, `alias`
/// (the plugin a line is about, or null), `message`, `source` (errors), and the
/// line's metadata as fields (a plugin error's `file`, `code` and `reason`, say);
/// keys sorted.
struct JSONLogHandler: LogHandler {
    /// Keys in a stable (sorted) order, so lines compare and grep alike.
    private static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    /// The metadata key plugin loggers carry their alias under.
    static let aliasKey = "plugin"

    let label: String
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]
    var metadataProvider: Logger.MetadataProvider?

    init(label: String) {
        self.label = label
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var fields = metadata
        if let provided = metadataProvider?.get() { fields.merge(provided) { _, new in new } }
        if let own = event.metadata { fields.merge(own) { _, new in new } }
        // A plugin's logger names it under `plugin`; an error's metadata under `alias`.
        let named = fields.removeValue(forKey: "alias")
        let alias = fields.removeValue(forKey: Self.aliasKey) ?? named
        var line = Line(time: Self.timestamp(), level: event.level.rawValue, label: label, alias: alias.map { "\($0)" },
                        message: event.message.description, fields: fields)
        line.source = event.level >= .error ? "\(event.file):\(event.line)" : nil
        guard var bytes = try? Self.encoder.encode(line) else { return }
        bytes.append(UInt8(ascii: "\n"))
        // One write per line: lines of several threads never interleave.
        bytes.withUnsafeBytes { _ = Glibc.write(2, $0.baseAddress, $0.count) }
    }

    /// The object written for one line; metadata keys come after the fixed ones.
    struct Line: Encodable {
        var time: String
        var level: String
        var label: String
        var alias: String?
        var message: String
        var source: String?
        var fields: Logger.Metadata

        private struct Key: CodingKey {
            var stringValue: String
            var intValue: Int? { nil }
            init(_ string: String) { stringValue = string }
            init?(stringValue: String) { self.stringValue = stringValue }
            init?(intValue: Int) { nil }
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: Key.self)
            try container.encode(time, forKey: Key("time"))
            try container.encode(level, forKey: Key("level"))
            try container.encode(label, forKey: Key("label"))
            try container.encode(alias, forKey: Key("alias"))
            try container.encode(message, forKey: Key("message"))
            if let source { try container.encode(source, forKey: Key("source")) }
            for key in fields.keys.sorted() where !["time", "level", "label", "alias", "message", "source"].contains(key) {
                try container.encode(MetadataValue(fields[key]!), forKey: Key(key))
            }
        }
    }

    /// A metadata value as JSON: strings, arrays and objects as such.
    struct MetadataValue: Encodable {
        let value: Logger.Metadata.Value
        init(_ value: Logger.Metadata.Value) { self.value = value }

        func encode(to encoder: any Encoder) throws {
            switch value {
            case .string(let text):
                var container = encoder.singleValueContainer()
                try container.encode(text)
            case .stringConvertible(let convertible):
                var container = encoder.singleValueContainer()
                try container.encode(convertible.description)
            case .array(let values):
                var container = encoder.unkeyedContainer()
                for value in values { try container.encode(MetadataValue(value)) }
            case .dictionary(let values):
                try Line.Dictionary(values).encode(to: encoder)
            }
        }
    }

    /// Now, as `2026-12-02T01:23:45.678Z`.
    static func timestamp() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        var seconds = now.tv_sec
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        let millis = Int(now.tv_nsec / 1_000_000)
        let milliText = millis < 10 ? "00\(millis)" : millis < 100 ? "0\(millis)" : "\(millis)"
        return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))T\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)).\(milliText)Z"
    }
}

extension JSONLogHandler.Line {
    /// Nested metadata as a JSON object, keys sorted.
    struct Dictionary: Encodable {
        let values: Logger.Metadata
        init(_ values: Logger.Metadata) { self.values = values }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: Key.self)
            for key in values.keys.sorted() { try container.encode(JSONLogHandler.MetadataValue(values[key]!), forKey: Key(key)) }
        }
    }
}
