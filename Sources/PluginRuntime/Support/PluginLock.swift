#if canImport(Glibc)
package import Glibc
#endif

/// The recursive lock that serialises every call into a plugin that did not
/// declare itself thread-safe.
///
/// Recursive, because a plugin may publish an event from inside one of its
/// own callbacks and receive it on the same thread.
package final class PluginLock: @unchecked Sendable {
    // @unchecked Sendable: a pthread mutex is made to be shared between threads;
    // the pointer never changes and is freed only in deinit.

    /// The mutex, handed to the dispatch tables so they lock without a Swift call.
    package let mutex: UnsafeMutablePointer<pthread_mutex_t>

    package init() {
        mutex = .allocate(capacity: 1)
        var attributes = pthread_mutexattr_t()
        pthread_mutexattr_init(&attributes)
        pthread_mutexattr_settype(&attributes, Int32(PTHREAD_MUTEX_RECURSIVE))
        pthread_mutex_init(mutex, &attributes)
        pthread_mutexattr_destroy(&attributes)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    /// Runs `body` holding the lock.
    package func withLock<T>(_ body: () throws -> T) rethrows -> T {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body()
    }
}

extension Optional where Wrapped == PluginLock {
    /// Runs `body` under the lock when there is one (a non-thread-safe plugin), directly otherwise.
    package func withLock<T>(_ body: () throws -> T) rethrows -> T {
        switch self {
        case .some(let lock): return try lock.withLock(body)
        case .none: return try body()
        }
    }
}
