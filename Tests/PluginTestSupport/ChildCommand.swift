import Foundation

/// Runs a program to its end and captures what it wrote: the one way the tests run
/// `plughost`, `make`, `cc`, `python3` and the programs they build.
public enum ChildCommand {
    /// How a program ended.
    public struct Result: Sendable {
        /// Its exit status (127 from `env` when the program is not on PATH).
        public let status: Int32
        /// Its standard output and standard error, interleaved as written.
        public let output: String

        /// A result.
        public init(status: Int32, output: String) {
            self.status = status
            self.output = output
        }
    }

    /// Runs `program` (a path, or a name looked up on PATH) with `arguments`, in `directory`,
    /// with `environment` (nil: this process's own).
    public static func run(_ program: String, _ arguments: [String], in directory: String? = nil,
                           environment: [String: String]? = nil) throws -> Result {
        let process = Process()
        if program.contains("/") {
            process.executableURL = URL(fileURLWithPath: program)
            process.arguments = arguments
        } else {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = [program] + arguments
        }
        if let environment { process.environment = environment }
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(status: process.terminationStatus, output: String(decoding: data, as: UTF8.self))
    }
}
