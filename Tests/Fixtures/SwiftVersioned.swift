// Test fixture for hot reload of a Swift plugin, built twice (`-DVERSION_2`).
// GET /swift/version answers "swift v1" / "swift v2"; GET /swift/count counts
// calls and hands the count to the next build through saveState/restoreState;
// GET /swift/fatal ends in a Swift fatalError (a trap, for the crash journal);
// async endpoints (ABI 1.2): GET /swift/later?id=X&ms=N answers "later X" after
// N ms of Task.sleep; GET /swift/sleepy sleeps 5 s unless cancelled, and
// GET /swift/cancelled counts the sleepy tasks the host cancelled.
import PluginSDK
import Synchronization

#if VERSION_2
let buildVersion = "2"
#else
let buildVersion = "1"
#endif

final class SwiftVersioned: Plugin, @unchecked Sendable {
    static let info = PluginInfo(id: "test.swift-versioned", version: buildVersion, isThreadSafe: true)

    private let count = Counter()

    init(host: PluginHost) throws {
        try host.http?.endpoint("GET", "/swift/version") { $0.setBody("swift v\(buildVersion)") }
        try host.http?.endpoint("GET", "/swift/count") { [count] in $0.setBody("\(count.increment())") }
        try host.http?.endpoint("GET", "/swift/fatal") { _ in fatalError("crashing on purpose") }
        try host.http?.asyncEndpoint("GET", "/swift/later") { exchange in
            let ms = Int(exchange.query("ms") ?? "") ?? 0
            try await Task.sleep(for: .milliseconds(ms))
            exchange.setBody("later \(exchange.query("id") ?? "-")")
        }
        let cancelled = Counter()
        try host.http?.asyncEndpoint("GET", "/swift/sleepy") { [cancelled] exchange in
            do {
                try await Task.sleep(for: .seconds(5))
                exchange.setBody("slept")
            } catch is CancellationError {
                _ = cancelled.increment()
                throw CancellationError()
            }
        }
        try host.http?.endpoint("GET", "/swift/cancelled") { [cancelled] in $0.setBody("\(cancelled.current)") }
        // An async wrapper: waits, continues the chain from its task, then marks the response.
        try host.http?.endpoint("GET", "/swift/gated") { $0.setBody("gated") }
        try host.http?.asyncWrapper("slowgate", match: "GET /swift/gated") { exchange in
            try await Task.sleep(for: .milliseconds(20))
            if exchange.continueChain() == .done { exchange.setHeader("X-Slowgate", "passed") }
        }
    }

    func saveState() throws -> [UInt8]? {
        withUnsafeBytes(of: count.current.littleEndian) { Array($0) }
    }

    func restoreState(_ state: [UInt8], from version: String) throws {
        guard state.count == 8 else { throw PluginFailure("expected 8 bytes of state from version \(version), got \(state.count)") }
        count.current = state.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
    }
}

/// A shareable counter (an `Atomic` cannot be captured by an escaping closure).
final class Counter: @unchecked Sendable {
    // @unchecked Sendable: the one member is atomic.
    private let value = Atomic<UInt64>(0)
    func increment() -> UInt64 { value.add(1, ordering: .relaxed).newValue }
    var current: UInt64 {
        get { value.load(ordering: .relaxed) }
        set { value.store(newValue, ordering: .relaxed) }
    }
}

@_cdecl("swift_versioned_entry")
public func swiftVersionedEntry(_ major: UInt32, _ minor: UInt32) -> UnsafeRawPointer? {
    exportPlugin(SwiftVersioned.self, hostABIMajor: major)
}
