/// Builds a TOML document's tables from its headers and key/value pairs, enforcing
/// TOML 1.0's rules on defining each table once.
///
/// - `[a.b]` may define `a.b` only if nothing defined it yet, or if it exists only
///   because an earlier header such as `[a.b.c]` needed it (implicit).
/// - A table created by dotted keys (`b.c = 1` under `[a]`) cannot be defined
///   again by a header, though headers may create sub-tables below it.
/// - A dotted key cannot add to a table defined by a header, to an array of
///   tables, nor to a value (static arrays and inline tables are values, closed
///   for good).
/// - `[[a]]` appends a table to the array of tables `a`; it cannot turn a table
///   or a static array into one, and `[a]` cannot reopen an array of tables.
struct TOMLTableBuilder {
    /// The document's top-level table.
    let root: TOMLTableNode
    /// The table the key/value pairs that follow go to (the last header's table).
    private(set) var current: TOMLTableNode
    /// The deepest a table may be nested.
    let maxDepth: Int

    /// A builder with an empty root table as the current table.
    init(maxDepth: Int) {
        root = TOMLTableNode(origin: .header, depth: 0)
        current = root
        self.maxDepth = maxDepth
    }

    /// Handles `[key]`: defines the table and makes it current.
    mutating func openTable(_ key: [TOMLKeyPart]) throws(TOMLTableConflict) {
        guard let last = key.last else { return }
        let parent = try walkToParent(of: key)
        switch parent.entries[last.name] {
        case nil:
            let table = TOMLTableNode(origin: .header, depth: parent.depth + 1)
            parent.entries[last.name] = .table(table)
            current = table
        case .table(let table) where table.origin == .implicit:
            table.origin = .header
            current = table
        case .table(let table):
            let how = table.origin == .dotted ? "by dotted keys" : "by an earlier [header]"
            throw TOMLTableConflict(reason: "table [\(Self.path(key))] is already defined \(how)", offset: last.offset)
        case .tableArray:
            throw TOMLTableConflict(reason: "[\(Self.path(key))] is already an array of tables, opened with [[\(Self.path(key))]]", offset: last.offset)
        case .value(let value):
            throw TOMLTableConflict(reason: "key \(Self.quoted([last])) already holds \(TOMLTableNode.article(value)), not a table", offset: last.offset)
        }
    }

    /// Handles `[[key]]`: appends a new table to the array of tables and makes it current.
    mutating func openArrayTable(_ key: [TOMLKeyPart]) throws(TOMLTableConflict) {
        guard let last = key.last else { return }
        let parent = try walkToParent(of: key)
        let table = TOMLTableNode(origin: .header, depth: parent.depth + 1)
        switch parent.entries[last.name] {
        case nil:
            parent.entries[last.name] = .tableArray(TOMLTableArrayNode(first: table))
        case .tableArray(let array):
            array.tables.append(table)
        case .table:
            throw TOMLTableConflict(reason: "cannot open [[\(Self.path(key))]]: \(Self.quoted([last])) is already a table", offset: last.offset)
        case .value(let value):
            throw TOMLTableConflict(reason: "cannot open [[\(Self.path(key))]]: key \(Self.quoted([last])) already holds \(TOMLTableNode.article(value))", offset: last.offset)
        }
        current = table
    }

    /// The table that holds a header's last key part, creating implicit tables on the way.
    ///
    /// A part naming an array of tables continues in its last element.
    private func walkToParent(of key: [TOMLKeyPart]) throws(TOMLTableConflict) -> TOMLTableNode {
        if key.count > maxDepth, let culprit = key.dropFirst(maxDepth).first {
            throw TOMLTableConflict(reason: "tables nested more than \(maxDepth) levels deep", offset: culprit.offset)
        }
        var table = root
        for part in key.dropLast() {
            switch table.entries[part.name] {
            case nil:
                let child = TOMLTableNode(origin: .implicit, depth: table.depth + 1)
                table.entries[part.name] = .table(child)
                table = child
            case .table(let child):
                table = child
            case .tableArray(let array):
                if let element = array.tables.last { table = element }
            case .value(let value):
                throw TOMLTableConflict(reason: "key \(Self.quoted([part])) already holds \(TOMLTableNode.article(value)), not a table", offset: part.offset)
            }
        }
        return table
    }

    /// `a.b."c d"` for headers in messages: the parts joined by dots, quoted when not bare.
    static func path(_ key: [TOMLKeyPart]) -> String {
        key.map { part in
            let bare = !part.name.isEmpty && part.name.utf8.allSatisfy(TOMLParser.isBareKeyByte)
            return bare ? part.name : ConfigValue.jsonQuoted(part.name)
        }.joined(separator: ".")
    }

    /// A key for messages: `'a.b'` when every part is bare, else `"a b".c` (JSON quotes on the parts that need them).
    static func quoted(_ key: [TOMLKeyPart]) -> String {
        let text = path(key)
        return text.contains("\"") ? text : "'" + text + "'"
    }
}
