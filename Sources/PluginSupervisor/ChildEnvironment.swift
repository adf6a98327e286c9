#if canImport(Glibc)
import Glibc
#endif

/// The environment of a child that runs plugin code (a worker, a probe), as
/// `KEY=VALUE` strings: this process's, with `extra` added, and the Swift
/// runtime's backtracer off (it would hold a crashing child for seconds; the
/// crash journal records what is needed instead).
public enum ChildEnvironment {
    /// This process's environment with `extra` added.
    public static func make(_ extra: [String: String] = [:]) -> [String] {
        var environment: [String: String] = [:]
        var entry = environ
        while let pointer = entry.pointee {
            let text = String(cString: pointer)
            if let equals = text.firstIndex(of: "=") { environment[String(text[..<equals])] = String(text[text.index(after: equals)...]) }
            entry += 1
        }
        environment["SWIFT_BACKTRACE"] = "enable=no"
        environment.merge(extra) { $1 }
        return environment.map { "\($0.key)=\($0.value)" }.sorted()
    }

    /// This program's own file, for starting children.
    public static var executablePath: String {
        var buffer = [CChar](repeating: 0, count: 4096)
        let count = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard count > 0 else { return CommandLine.arguments[0] }
        return String(decoding: buffer[..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// NULL-terminated C string arrays, for `argv` and `envp`.
public enum CStrings {
    /// Calls `body` with `strings` as a NULL-terminated C array.
    public static func with<R>(_ strings: [String], _ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) -> R) -> R {
        var pointers = strings.map { strdup($0) } + [nil]
        defer { pointers.forEach { free($0) } }
        return pointers.withUnsafeMutableBufferPointer { body(UnsafePointer($0.baseAddress!)) }
    }
}
