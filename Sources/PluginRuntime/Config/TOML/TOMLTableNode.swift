/// One part of a dotted key, with where it starts (for error positions).
struct TOMLKeyPart {
    /// The part's name, quotes removed and escapes resolved.
    let name: String
    /// The byte offset where the part starts.
    let offset: Int
}

/// A table under construction, with how it came to exist (which decides how it may still be extended).
final class TOMLTableNode {
    /// How a table was created.
    enum Origin {
        /// Created only as the parent of a header's table (`a` of `[a.b]`): a header may still define it once.
        case implicit
        /// Defined by its own `[header]`, or an element of an `[[array]]`: no header or dotted key may define it again.
        case header
        /// Created by a dotted key (`a.b = 1` creates `a`): only dotted keys of the same section may extend it.
        case dotted
        /// An inline table being read: closed for good when its `}` is read.
        case inline
    }

    /// How the table was created.
    var origin: Origin
    /// The keys defined so far.
    var entries: [String: TOMLEntry] = [:]
    /// How many tables and arrays enclose this one (0 for the root).
    let depth: Int

    /// An empty table.
    init(origin: Origin, depth: Int) {
        self.origin = origin
        self.depth = depth
    }

    /// The finished table; inline tables and arrays were already finished values.
    func finish() -> [String: TOMLValue] {
        entries.mapValues { entry in
            switch entry {
            case .table(let table): .table(table.finish())
            case .tableArray(let array): .array(array.tables.map { .table($0.finish()) })
            case .value(let value): value
            }
        }
    }

    /// Defines `key` (relative to this table, dotted parts creating tables) as `value`.
    ///
    /// Refuses a key already defined, a dotted part that names a value, an array
    /// of tables or a table defined by its own header.
    func insert(_ value: TOMLValue, at key: [TOMLKeyPart]) throws(TOMLTableConflict) {
        guard let last = key.last else { return }
        var table = self
        for part in key.dropLast() {
            switch table.entries[part.name] {
            case nil:
                let child = TOMLTableNode(origin: .dotted, depth: table.depth + 1)
                table.entries[part.name] = .table(child)
                table = child
            case .table(let child) where child.origin == .dotted || child.origin == .implicit:
                child.origin = .dotted
                table = child
            case .table:
                throw TOMLTableConflict(reason: "cannot add keys to table \(TOMLTableBuilder.quoted([part])) with a dotted key: it has its own [header]", offset: part.offset)
            case .tableArray:
                throw TOMLTableConflict(reason: "cannot add keys to array of tables \(TOMLTableBuilder.quoted([part])) with a dotted key", offset: part.offset)
            case .value(let existing):
                throw TOMLTableConflict(reason: "key \(TOMLTableBuilder.quoted([part])) already holds \(Self.article(existing)), not a table", offset: part.offset)
            }
        }
        guard table.entries[last.name] == nil else {
            throw TOMLTableConflict(reason: "duplicate key \(TOMLTableBuilder.quoted([last]))", offset: last.offset)
        }
        table.entries[last.name] = .value(value)
    }

    /// "an integer", "a string", … for error messages.
    static func article(_ value: TOMLValue) -> String {
        switch value {
        case .integer, .array, .offsetDateTime: "an \(value.typeName == "datetime" ? "offset date-time" : value.typeName)"
        case .table: "an inline table"
        case .boolean: "a boolean"
        case .localDateTime: "a local date-time"
        case .localDate: "a local date"
        case .localTime: "a local time"
        default: "a \(value.typeName)"
        }
    }
}

/// An array of tables under construction (`[[name]]`); a class so appending does not copy it.
final class TOMLTableArrayNode {
    /// The elements, in file order; never empty.
    var tables: [TOMLTableNode]

    /// An array with its first element.
    init(first: TOMLTableNode) { tables = [first] }
}

/// What a key of a table under construction holds.
enum TOMLEntry {
    /// A table still open to headers or dotted keys.
    case table(TOMLTableNode)
    /// An array of tables, open to more `[[name]]` headers.
    case tableArray(TOMLTableArrayNode)
    /// A finished value: a scalar, a static array or an inline table (none of them extensible).
    case value(TOMLValue)
}
