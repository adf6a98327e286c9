#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Logging
import PluginRuntime
import ServiceLifecycle
import Synchronization

/// `serve --watch`: asks for a reload when the plugins folder (or a subfolder,
/// or the host config) changes, once the changes have been quiet for the debounce interval.
///
/// Uses inotify on a thread of its own; plugin authors install with a rename,
/// which shows up as one `IN_MOVED_TO`.
struct FolderWatchService: Service {
    let folders: [String]
    let reloader: ReloadScheduler
    let debounce: Duration
    let logger: Logger

    func run() async throws {
        let fd = inotify_init1(Int32(IN_CLOEXEC | IN_NONBLOCK))
        guard fd >= 0 else {
            logger.error("--watch: inotify_init1 failed: \(String(cString: strerror(errno))); reload with SIGHUP instead")
            return
        }
        let mask = UInt32(IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE)
        for folder in folders where inotify_add_watch(fd, folder, mask) < 0 {
            logger.warning("--watch: cannot watch \(folder): \(String(cString: strerror(errno)))")
        }
        let stop = Atomic<Bool>(false)
        let watcher = Thread { [reloader, debounce] in
            Self.watch(fd: fd, stop: stop, reloader: reloader, debounce: debounce)
            close(fd)
        }
        watcher.name = "plughost-watch"
        watcher.start()
        logger.info("--watch: reloading when \(folders.joined(separator: ", ")) change")
        try? await gracefulShutdown()
        stop.store(true, ordering: .relaxed)
    }

    /// Reads events until `stop`; a burst of events followed by `debounce` of quiet asks for one reload.
    private static func watch(fd: Int32, stop: borrowing Atomic<Bool>, reloader: ReloadScheduler, debounce: Duration) {
        let debounceMs = Int32(debounce.components.seconds * 1000 + debounce.components.attoseconds / 1_000_000_000_000_000)
        var buffer = [UInt8](repeating: 0, count: 16 * 1024)
        var dirty = false
        while !stop.load(ordering: .relaxed) {
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&poller, 1, dirty ? debounceMs : 200)
            if ready > 0 {
                while buffer.withUnsafeMutableBytes({ read(fd, $0.baseAddress, $0.count) }) > 0 {}
                dirty = true
            } else if ready == 0 && dirty {
                dirty = false
                reloader.requestReload()
            }
        }
    }
}
