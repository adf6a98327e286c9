import PluginRuntime

/// Renders plugin statuses as an aligned text table.
enum StatusTable {
    /// The table with a header row: alias, namespace, library, version, ABI, state, mode, reason.
    /// MODE is where the alias runs (`[isolation.ALIAS] mode` in `config`: `in-process` or `process`).
    static func render(_ statuses: [PluginStatus], config: HostConfig = HostConfig()) -> String {
        let header = ["ALIAS", "NAMESPACE", "LIBRARY", "VERSION", "ABI", "STATE", "MODE", "REASON"]
        let rows = statuses.map { status in
            [
                status.alias ?? "-", status.namespace ?? "-", status.library ?? status.file,
                status.version ?? "-", status.abi ?? "-", status.state.rawValue,
                status.isolation?.mode ?? status.alias.map { config.isolation(of: $0).mode.rawValue } ?? "-",
                status.error.map(reason(of:)) ?? "",
            ]
        }
        let widths = (0..<header.count).map { column in
            ([header] + rows).map { $0[column].count }.max() ?? 0
        }
        return ([header] + rows).map { row in
            row.enumerated().map { column, cell in
                column == row.count - 1 ? cell : cell.padding(toLength: widths[column], withPad: " ", startingAt: 0)
            }.joined(separator: "  ").trimmingTrailingSpaces()
        }.joined(separator: "\n")
    }

    /// The error line without the alias (the table already shows it).
    private static func reason(of error: PluginError) -> String {
        "\(error.code): \(error.reason) [\(error.file)]"
    }
}

extension String {
    fileprivate func padding(toLength length: Int, withPad pad: String, startingAt: Int) -> String {
        count >= length ? self : self + String(repeating: pad, count: length - count)
    }

    fileprivate func trimmingTrailingSpaces() -> String {
        var copy = self
        while copy.last == " " { copy.removeLast() }
        return copy
    }
}
