#if canImport(Glibc)
import Glibc
#endif
import CMemoryFile
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
public import PluginRuntime

/// The files of a committed generation (``CommittedSources``) in one sealed
/// in-memory file: what a worker hands its supervisor after every commit, and
/// what the supervisor hands every worker it starts, so a replacement starts
/// from the last committed generation instead of what the folder holds now.
///
/// Layout: the 8 bytes `PHCOMMIT`, a 4-byte big-endian length, that many bytes
/// of a JSON index (roots; per file its path, canonical path, offset, length
/// and, for libraries, SHA-256), then the files' bytes. A reader checks every
/// offset against the file's size and every library against its SHA-256.
public enum CommittedBuilds {
    static let magic = Array("PHCOMMIT".utf8)

    struct Index: Codable {
        struct Entry: Codable {
            var path: String
            var canonicalPath: String?
            var offset: Int
            var length: Int
            var sha256: String?
            var aliases: [String]
        }
        var roots: [String]
        var files: [Entry]
    }

    /// Writes `sources` into a new sealed in-memory file; its descriptor (close-on-exec), or nil.
    public static func write(_ sources: CommittedSources) -> Int32? {
        var entries: [Index.Entry] = []
        var offset = 0
        for file in sources.files {
            entries.append(Index.Entry(path: file.path, canonicalPath: file.canonicalPath, offset: offset, length: file.bytes.count,
                                       sha256: file.sha256, aliases: file.aliases))
            offset += file.bytes.count
        }
        guard let index = try? JSONEncoder().encode(Index(roots: sources.roots, files: entries)) else { return nil }
        let length = UInt32(index.count)
        let header = magic + [UInt8(length >> 24), UInt8(length >> 16 & 0xff), UInt8(length >> 8 & 0xff), UInt8(length & 0xff)] + Array(index)
        let descriptor = ph_memfd_create("plughost:committed")
        guard descriptor >= 0 else { return nil }
        var ok = header.withUnsafeBytes { ph_write_all(descriptor, $0.baseAddress, $0.count) } == 0
        for file in sources.files where ok {
            ok = file.bytes.withUnsafeBytes { ph_write_all(descriptor, $0.baseAddress, $0.count) } == 0
        }
        guard ok, ph_memfd_seal(descriptor) == 0 else {
            close(descriptor)
            return nil
        }
        return descriptor
    }

    /// Reads the file at `descriptor` back into an overlay.
    /// - Throws: A description of what is wrong with it (the caller then starts from disk).
    public static func read(_ descriptor: Int32) throws(CommittedBuildsError) -> FileOverlay {
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { throw CommittedBuildsError("cannot read it: \(String(cString: strerror(errno)))") }
        let size = Int(info.st_size)
        guard size >= 12, size < 1 << 34 else { throw CommittedBuildsError("it is \(size) bytes, too \(size < 12 ? "short" : "long")") }
        var bytes = [UInt8](repeating: 0, count: size)
        var done = 0
        while done < size {
            let count = bytes.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress! + done, size - done, off_t(done)) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { throw CommittedBuildsError("it ended after \(done) of \(size) bytes") }
            done += count
        }
        guard Array(bytes[0..<8]) == magic else { throw CommittedBuildsError("it does not start with PHCOMMIT") }
        let length = bytes[8..<12].reduce(0) { $0 << 8 | Int($1) }
        guard 12 + length <= size else { throw CommittedBuildsError("its index runs past its end") }
        let index: Index
        do {
            index = try JSONDecoder().decode(Index.self, from: Data(bytes[12..<(12 + length)]))
        } catch {
            throw CommittedBuildsError("its index does not parse: \(error)")
        }
        let base = 12 + length
        var overlay = FileOverlay(roots: index.roots)
        for entry in index.files {
            // Compared without adding: a corrupt index's huge numbers must fail here, not overflow.
            guard entry.offset >= 0, entry.length >= 0, entry.offset <= size - base, entry.length <= size - base - entry.offset else {
                throw CommittedBuildsError("\(entry.path) runs past its end")
            }
            let content = Array(bytes[(base + entry.offset)..<(base + entry.offset + entry.length)])
            if let sha256 = entry.sha256, LibraryDigest(of: content).hex != sha256 {
                throw CommittedBuildsError("\(entry.path) does not match its SHA-256")
            }
            overlay.add(path: entry.path, canonicalPath: entry.canonicalPath, bytes: content)
        }
        return overlay
    }

    /// The builds (alias and SHA-256) `sources` holds, for the supervisor.
    public static func builds(of sources: CommittedSources) -> [CommittedBuild] {
        sources.files.flatMap { file in file.sha256.map { sha in file.aliases.map { CommittedBuild(alias: $0, sha256: sha) } } ?? [] }
    }
}

/// Why committed builds could not be read back.
public struct CommittedBuildsError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
