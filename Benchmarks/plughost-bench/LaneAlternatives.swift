import Foundation

/// Runs `Benchmarks/lane-alternatives/run.sh` (a C program built with gcc, not SwiftPM): round trips
/// between two processes over a Unix socket (what lanes do), a pipe pair, shared memory + futex and
/// shared memory + a short spin, pinned and unpinned. Its Markdown table, or nil when it failed.
enum LaneAlternatives {
    static let script = "Benchmarks/lane-alternatives/run.sh"

    static func run(rounds: Int, perRound: Int) -> String? {
        guard FileManager.default.isExecutableFile(atPath: script) else {
            print("\(script) not found (make bench runs from the repository's root): lane alternatives skipped")
            return nil
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = [script, String(rounds), String(perRound)]
        let output = Pipe()
        process.standardOutput = output
        do { try process.run() } catch { return nil }
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0, text.hasPrefix("|") else { return nil }
        return text.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
