import ArgumentParser
import Foundation
import PluginRuntime

/// `plughost pin`: the `[pins]` table for the libraries in the plugins folder now.
struct Pin: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print (or write into the host config) a [pins] table with the SHA-256 of each enabled alias's library as it is now.",
        discussion: """
            A pinned alias loads only a library whose bytes hash to its pin; any other build is refused at start \
            and rolls a reload back. Run this after installing the builds you trust.
            """)

    @OptionGroup var options: HostOptions

    @Flag(help: "Replace the [pins] table of the --config file instead of printing it.")
    var write = false

    func run() throws {
        let config = try options.hostConfig()
        let catalog = PluginCatalog.scan(directory: options.plugins, strictPermissions: config.strictPermissions)
        for problem in catalog.problems { FileHandle.standardError.write(Data("warning: \(problem)\n".utf8)) }
        let plan = LoadPlan.make(catalog: catalog, config: config)
        var lines = ["[pins]"]
        for entry in plan.enabled {
            do {
                lines.append("\(entry.alias) = \"\(try LibraryDigest(ofFileAt: entry.libraryPath))\"")
            } catch {
                throw ValidationError(error.description)
            }
        }
        let table = lines.joined(separator: "\n") + "\n"
        guard write else {
            print(table, terminator: "")
            return
        }
        guard let path = options.config else { throw ValidationError("--write needs --config FILE: the host config to write the pins into") }
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let updated = Self.replacingPinsTable(in: text, with: table)
        let temporary = path + ".pin-\(getpid())"
        let mode = ((try? FileManager.default.attributesOfItem(atPath: path)[.posixPermissions]) as? Int) ?? 0o600
        // Created with the config's own mode from the start: it may hold the admin token.
        try FileSystem.createExclusively(temporary, updated, mode: mode_t(mode))
        do {
            _ = try HostConfig.load(path: temporary)
        } catch {
            try? FileManager.default.removeItem(atPath: temporary)
            throw ValidationError("not written, the result would not load: \(error)")
        }
        guard rename(temporary, path) == 0 else { throw ValidationError("cannot replace \(path): \(String(cString: strerror(errno)))") }
        print("wrote \(lines.count - 1) pin(s) into \(path)")
    }

    /// `text` without its `[pins]` table (header to the next table header), with `table` appended.
    static func replacingPinsTable(in text: String, with table: String) -> String {
        var kept: [Substring] = []
        var insidePins = false
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let trimmed = line.drop { $0 == " " || $0 == "\t" }
            if trimmed.hasPrefix("[") {
                let header = trimmed.prefix { $0 != "#" }.trimmingCharacters(in: .whitespaces)
                insidePins = header == "[pins]"
            }
            if !insidePins { kept.append(line) }
        }
        var result = kept.joined(separator: "\n")
        while result.hasSuffix("\n\n") { result.removeLast() }
        if !result.isEmpty && !result.hasSuffix("\n") { result += "\n" }
        return result + (result.isEmpty ? "" : "\n") + table
    }
}
