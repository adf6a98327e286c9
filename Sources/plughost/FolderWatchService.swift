#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Logging
import PluginRuntime
import ServiceLifecycle
import Synchronization

/// `serve --watch`: asks for a reload when a manifest, a library or a subfolder
/// of the plugins folder, or the host config file, changes, once the changes
/// have been quiet for the debounce interval.
///
/// Uses inotify on a thread of its own. Only names that matter wake it:
/// `*.toml`, `*.so*`, folders, and the host config's own name; hidden files
/// (a build's `.libfoo.so.new`), the pid file and the reload report do not,
/// so writing the report after a reload cannot start another one. Subfolders
/// created later are watched from the next event on.
struct FolderWatchService: Service {
    let pluginsDirectory: String
    let configFile: String?
    /// Asks for a reload and returns at once.
    let requestReload: @Sendable () -> Void
    let debounce: Duration
    let logger: Logger

    /// What one watch descriptor is for.
    private struct Watched: Sendable {
        /// Names in this folder that matter; nil: the plugin-folder rule.
        let onlyNames: Set<String>?
    }

    func run() async throws {
        let fd = inotify_init1(Int32(IN_CLOEXEC | IN_NONBLOCK))
        guard fd >= 0 else {
            logger.error("--watch: inotify_init1 failed: \(String(cString: strerror(errno))); reload with SIGHUP instead")
            return
        }
        var watched: [Int32: Watched] = [:]
        for folder in [pluginsDirectory] + PluginCatalog.subfolders(of: pluginsDirectory) {
            let descriptor = inotify_add_watch(fd, folder, Self.mask)
            if descriptor < 0 { logger.warning("--watch: cannot watch \(folder): \(String(cString: strerror(errno)))") }
            watched[descriptor] = Watched(onlyNames: nil)
        }
        if let configFile {
            let descriptor = inotify_add_watch(fd, PluginCatalog.folder(of: configFile), Self.mask)
            // The config may live in the plugins folder: that folder's rule already covers it.
            if descriptor >= 0 && watched[descriptor] == nil {
                watched[descriptor] = Watched(onlyNames: [URL(fileURLWithPath: configFile).lastPathComponent])
            }
        }
        let stop = Atomic<Bool>(false)
        let initial = watched
        let watcher = Thread { [requestReload, debounce, pluginsDirectory] in
            Self.watch(fd: fd, watched: initial, pluginsDirectory: pluginsDirectory, stop: stop, requestReload: requestReload, debounce: debounce)
            close(fd)
        }
        watcher.name = "plughost-watch"
        watcher.start()
        logger.info("--watch: reloading when \(pluginsDirectory)\(configFile.map { " or \($0)" } ?? "") changes")
        try? await gracefulShutdown()
        stop.store(true, ordering: .relaxed)
    }

    private static let mask = UInt32(IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE)

    /// Whether a change to `name` in a plugins (sub)folder can change what loads.
    static func matters(_ name: String, isFolder: Bool) -> Bool {
        guard !name.hasPrefix(".") else { return false }
        return isFolder || name.hasSuffix(".toml") || name.hasSuffix(".so") || name.contains(".so.")
    }

    /// Reads events until `stop`; a burst of events that matter, then `debounce` of quiet, asks for one reload.
    private static func watch(fd: Int32, watched initial: [Int32: Watched], pluginsDirectory: String, stop: borrowing Atomic<Bool>,
                              requestReload: @Sendable () -> Void, debounce: Duration) {
        var watched = initial
        let debounceMs = Int32(clamping: debounce.wholeMilliseconds)
        var buffer = [UInt8](repeating: 0, count: 16 * 1024)
        var dirty = false
        while !stop.load(ordering: .relaxed) {
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&poller, 1, dirty ? debounceMs : 200)
            if ready > 0 {
                while true {
                    let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                    guard count > 0 else { break }
                    for event in events(in: buffer.prefix(count)) {
                        let isFolder = event.mask & UInt32(IN_ISDIR) != 0
                        if let only = watched[event.descriptor]?.onlyNames {
                            if only.contains(event.name) { dirty = true }
                        } else if matters(event.name, isFolder: isFolder) {
                            dirty = true
                        }
                    }
                }
            } else if ready == 0 && dirty {
                dirty = false
                // Watching a folder twice is harmless: inotify answers with the same descriptor.
                for folder in PluginCatalog.subfolders(of: pluginsDirectory) {
                    let descriptor = inotify_add_watch(fd, folder, mask)
                    if descriptor >= 0 && watched[descriptor] == nil { watched[descriptor] = Watched(onlyNames: nil) }
                }
                requestReload()
            }
        }
    }

    /// The events in a buffer `read` from an inotify descriptor.
    private static func events(in bytes: ArraySlice<UInt8>) -> [(descriptor: Int32, mask: UInt32, name: String)] {
        var events: [(Int32, UInt32, String)] = []
        let header = MemoryLayout<inotify_event>.size
        bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset + header <= raw.count {
                let event = raw.loadUnaligned(fromByteOffset: offset, as: inotify_event.self)
                let nameBytes = raw[(offset + header)..<min(offset + header + Int(event.len), raw.count)]
                let name = String(decoding: nameBytes.prefix { $0 != 0 }, as: UTF8.self)
                events.append((event.wd, event.mask, name))
                offset += header + Int(event.len)
            }
        }
        return events
    }
}
