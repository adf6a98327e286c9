#if canImport(Glibc)
import Glibc
#endif
import CPluginABI

/// The check subscribers that stand in for quarantined plugins: each denies
/// the check its plugin subscribed to, naming the quarantine, so that what the
/// plugin guarded stays closed while it is left out.
final class QuarantineDenials: @unchecked Sendable {
    // @unchecked Sendable: immutable after init; the C strings are freed in deinit,
    // once the generation (and so the event table that points at them) is gone.

    /// One stand-in: the check event and the subscriber that denies it.
    struct Denial {
        let id: UInt32
        let check: EventTable.CheckSubscriber
    }

    /// Every stand-in, in fence order.
    private(set) var subscribers: [Denial] = []
    private var strings: [UnsafeMutablePointer<CChar>] = []

    /// The stand-ins for every `check NAME` line of `fences`.
    init(_ fences: [QuarantineFence]) {
        for fence in fences {
            let checks = fence.guards.filter { $0.hasPrefix("check ") }.map { String($0.dropFirst(6)) }
            guard !checks.isEmpty else { continue }
            let alias = strdup(fence.alias)!
            let reason = strdup("plugin '\(fence.alias)' is \(fence.reason)")!
            strings += [alias, reason]
            for name in checks {
                guard let id = EventNames.shared.id(for: name) else { continue }
                let check = EventTable.CheckSubscriber(callback: Self.deny, userData: UnsafeMutableRawPointer(reason),
                                                       lock: nil, owner: UnsafePointer(alias))
                subscribers.append(Denial(id: id.rawValue, check: check))
            }
        }
    }

    deinit { strings.forEach { free($0) } }

    /// Denies, with the quarantine (the C string `userData`) as the reason.
    private static let deny: ph_check_fn = { userData, _, reason in
        if let reason, let data = reason.pointee.data, reason.pointee.capacity > 0, let text = userData {
            let length = min(strlen(text.assumingMemoryBound(to: CChar.self)), reason.pointee.capacity - 1)
            memcpy(data, text, length)
            data[length] = 0
        }
        return PH_DENY
    }
}
