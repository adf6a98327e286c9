public import PluginRuntime

/// The body of every answer the host writes itself (404, 413, 503 naming a
/// plugin, 504, …): a JSON object whose first member is `"error"`, a sentence,
/// then details in order. One type writes them all, so each is well-formed JSON
/// with every string escaped, whatever a plugin's alias or message holds.
public struct HostErrorBody: Sendable {
    /// A detail's value.
    public enum Value: Sendable, ExpressibleByStringLiteral, ExpressibleByIntegerLiteral {
        /// A JSON string.
        case text(String)
        /// A JSON integer.
        case number(Int)
        /// A JSON array of strings.
        case texts([String])

        /// A string literal is a ``text(_:)``.
        public init(stringLiteral value: String) { self = .text(value) }
        /// An integer literal is a ``number(_:)``.
        public init(integerLiteral value: Int) { self = .number(value) }

        var json: String {
            switch self {
            case .text(let text): ConfigValue.jsonQuoted(text)
            case .number(let number): String(number)
            case .texts(let texts): "[" + texts.map(ConfigValue.jsonQuoted).joined(separator: ",") + "]"
            }
        }
    }

    /// What went wrong, in a sentence.
    public let message: String
    /// Further members, in order.
    public let details: [(name: String, value: Value)]

    /// A body saying `message`, then `details` in the order given.
    public init(_ message: String, _ details: KeyValuePairs<String, Value> = [:]) {
        self.message = message
        self.details = details.map { (name: $0.key, value: $0.value) }
    }

    /// The body as JSON text.
    public var json: String {
        var text = #"{"error":"# + ConfigValue.jsonQuoted(message)
        for (name, value) in details {
            text += "," + ConfigValue.jsonQuoted(name) + ":" + value.json
        }
        return text + "}"
    }
}

extension PluginHTTPResponse {
    /// An answer of the host's own: `status` with a ``HostErrorBody`` as `application/json`.
    public static func hostError(_ status: Int, _ message: String, _ details: KeyValuePairs<String, HostErrorBody.Value> = [:]) -> PluginHTTPResponse {
        .json(status, HostErrorBody(message, details).json)
    }
}
