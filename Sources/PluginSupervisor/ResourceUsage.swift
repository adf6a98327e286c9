#if canImport(Glibc)
import Glibc
#endif

/// What a worker process holds of the resources a plugin can exhaust, read
/// from `/proc`: descriptors (against its limit), threads and memory maps
/// (against the system's `vm.max_map_count`).
struct ResourceUsage: CustomStringConvertible {
    var descriptors = 0
    var descriptorLimit: Int?
    /// The most common things the descriptors point at ("socket", "/tmp/x", …), most first.
    var descriptorTargets: [(target: String, count: Int)] = []
    var threads = 0
    var maps = 0
    var mapLimit: Int?

    /// Where `d_name` starts in a `dirent`.
    private static let nameOffset = MemoryLayout<dirent>.offset(of: \dirent.d_name)!

    /// Reads worker `pid`'s usage (zeros for what cannot be read).
    init(pid: Int32) {
        let folder = "/proc/\(pid)/fd"
        var targets: [String: Int] = [:]
        if let directory = opendir(folder) {
            while let entry = readdir(directory) {
                // Read in place, up to its NUL: a record is only as long as its name, so copying the
                // whole 256-byte d_name field reads past readdir's buffer (AddressSanitizer caught it).
                let name = String(cString: (UnsafeRawPointer(entry) + Self.nameOffset).assumingMemoryBound(to: CChar.self))
                guard name != ".", name != ".." else { continue }
                descriptors += 1
                var buffer = [CChar](repeating: 0, count: 512)
                let length = readlink(folder + "/" + name, &buffer, buffer.count - 1)
                guard length > 0 else { continue }
                var target = String(decoding: buffer[..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
                // "socket:[12345]" and "pipe:[…]" by kind, not by inode.
                if let bracket = target.firstIndex(of: "["), target.hasSuffix("]") { target = String(target[..<bracket]) }
                targets[target, default: 0] += 1
            }
            closedir(directory)
        }
        descriptorTargets = targets.sorted { ($0.value, $1.key) > ($1.value, $0.key) }.prefix(3).map { ($0.key, $0.value) }
        for line in Self.lines("/proc/\(pid)/limits") where line.hasPrefix("Max open files") {
            descriptorLimit = line.split(separator: " ", omittingEmptySubsequences: true).dropFirst(3).first.flatMap { Int($0) }
        }
        for line in Self.lines("/proc/\(pid)/status") where line.hasPrefix("Threads:") {
            threads = Int(line.dropFirst("Threads:".count).trimmingPrefix(while: { $0 == " " || $0 == "\t" })) ?? 0
        }
        maps = Self.lines("/proc/\(pid)/maps").count
        mapLimit = Self.lines("/proc/sys/vm/max_map_count").first.flatMap { Int($0) }
    }

    var description: String {
        var text = "\(descriptors)\(descriptorLimit.map { " of \($0)" } ?? "") descriptors"
        if let top = descriptorTargets.first { text += " (most: \(top.count) × \(top.target))" }
        return text + ", \(threads) threads, \(maps) memory maps"
    }

    /// A warning when the worker holds more than 80 % of a limit, else nil.
    var warning: String? {
        if let limit = descriptorLimit, limit > 0, descriptors * 5 > limit * 4 {
            return "holds \(description): near its descriptor limit; a plugin that opens files or sockets without closing them is the usual cause\(descriptorTargets.first.map { " (look for what opens \($0.target))" } ?? "")"
        }
        if let limit = mapLimit, limit > 0, maps * 5 > limit * 4 {
            return "holds \(description): near vm.max_map_count"
        }
        return nil
    }

    private static func lines(_ path: String) -> [Substring] {
        guard let file = fopen(path, "r") else { return [] }
        defer { fclose(file) }
        var text: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = fread(&buffer, 1, buffer.count, file)
            if count <= 0 { break }
            text += buffer[..<count]
        }
        return String(decoding: text, as: UTF8.self).split(separator: "\n")
    }
}
