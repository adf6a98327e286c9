#if canImport(Glibc)
import Glibc
#endif
import CPluginABI
import Synchronization

/// One immutable set of running plugins: their instances, the frozen event
/// table, the services they provide, and each host extension's part.
///
/// The runtime swaps whole generations; readers take one, counted in
/// ``inFlight``, and dispatch on it without a lock. A reload retires the old
/// generation once its count has drained to zero.
public final class Generation: @unchecked Sendable {
    // @unchecked Sendable: every member is immutable after init but the atomic count.

    /// Counts generations within one runtime, from 1.
    public let number: Int
    /// The frozen subscriber lists.
    public let events: EventTable
    /// Services by id, with the alias of their provider.
    let services: [String: (pointer: UnsafeRawPointer, provider: String)]
    /// Each extension's part, in the runtime's extension order.
    private let parts: [any ExtensionPart]
    private let extensionSet: ExtensionSet
    /// Whether ``releaseParts()`` ran (control thread only).
    nonisolated(unsafe) private var released = false
    /// Instances in config order.
    let instances: [PluginInstance]
    /// Registrations refused while its plugins were created, and endpoint conflicts and prepare failures found while assembling it.
    let warnings: [PluginError]
    /// Requests and plugin calls running on this generation right now.
    let inFlight = Atomic<Int>(0)
    /// The quarantined plugins this generation fences.
    public let fences: [QuarantineFence]
    /// The deny subscribers of ``fences``, kept as long as the event table that calls them.
    private let denials: QuarantineDenials
    /// Events (and checks) with a subscriber whose plugin did not declare `PH_PLUGIN_NEVER_BLOCKS`.
    private let blockingEvents: Set<UInt32>

    private init(number: Int, events: EventTable, services: [String: (pointer: UnsafeRawPointer, provider: String)],
                 parts: [any ExtensionPart], extensions: ExtensionSet, instances: [PluginInstance], warnings: [PluginError],
                 fences: [QuarantineFence], denials: QuarantineDenials, blockingEvents: Set<UInt32>) {
        self.number = number
        self.events = events
        self.services = services
        self.parts = parts
        self.extensionSet = extensions
        self.instances = instances
        self.warnings = warnings
        self.fences = fences
        self.denials = denials
        self.blockingEvents = blockingEvents
    }

    /// Whether a subscriber of event (or check) `id` belongs to a plugin that may block:
    /// publishing it from a thread that serves connections could stall them.
    public func subscribersMayBlock(_ id: EventID) -> Bool {
        !blockingEvents.isEmpty && blockingEvents.contains(id.rawValue)
    }

    /// Assembles the generation of `instances`, in this order (which is config
    /// order: the priority of subscriptions, services and endpoints). Runs every
    /// wrapper's `accepts` and `prepare` for the endpoints it matches.
    static func assemble(number: Int, instances: [PluginInstance], extensions: ExtensionSet,
                         fences: [QuarantineFence] = []) -> Generation {
        let events = EventTableBuilder()
        // A plugin that runs again (its quarantine lifted in this very reload) fences nothing.
        let fences = fences.filter { fence in !instances.contains { $0.alias == fence.alias } }
        // A quarantined plugin's checks deny first: what it guarded stays closed.
        let denials = QuarantineDenials(fences)
        for denial in denials.subscribers { events.add(denial.id, priority: Int32.min, pluginOrder: -1, check: denial.check) }
        var services: [String: (pointer: UnsafeRawPointer, provider: String)] = [:]
        var warnings: [PluginError] = []
        var blockingEvents = Set<UInt32>()
        for (order, instance) in instances.enumerated() {
            let registrations = instance.context.registrations
            if !instance.loaded.neverBlocks {
                blockingEvents.formUnion(registrations.events.map(\.id))
                blockingEvents.formUnion(registrations.checks.map(\.id))
            }
            for subscription in registrations.events {
                events.add(subscription.id, priority: subscription.priority, pluginOrder: order, subscriber: subscription.subscriber)
            }
            for subscription in registrations.checks {
                events.add(subscription.id, priority: subscription.priority, pluginOrder: order, check: subscription.check)
            }
            for (id, pointer) in registrations.services where services[id] == nil { services[id] = (pointer, instance.alias) }
            warnings += registrations.warnings
        }
        let parts = extensions.extensions.enumerated().map { index, hostExtension in
            hostExtension.assemble(instances.map { $0.context.registrations.extensions[index] }, fences: fences)
        }
        return Generation(number: number, events: events.build(), services: services, parts: parts, extensions: extensions,
                          instances: instances, warnings: warnings + parts.flatMap(\.warnings),
                          fences: fences, denials: denials, blockingEvents: blockingEvents)
    }

    /// What each plugin of this generation guards, by alias: its check subscriptions
    /// (`check NAME`) and each extension part's lines.
    var guards: [String: [String]] {
        var guards: [String: [String]] = [:]
        for instance in instances {
            let checks = instance.context.registrations.checks.compactMap { EventNames.shared.name(of: EventID(rawValue: $0.id)) }
            guards[instance.alias] = Array(Set(checks)).sorted().map { "check " + $0 }
        }
        for part in parts {
            for (alias, lines) in part.guards where guards[alias] != nil { guards[alias]! += lines }
        }
        return guards
    }

    /// The part `hostExtension` assembled for this generation, or nil when the runtime does not offer it.
    @inline(__always)
    public func part(for hostExtension: any HostExtension) -> (any ExtensionPart)? {
        for (index, candidate) in extensionSet.extensions.enumerated() where candidate === hostExtension { return parts[index] }
        return nil
    }

    /// Releases every extension's part, once (control thread, after the generation drained).
    func releaseParts() {
        guard !released else { return }
        released = true
        parts.forEach { $0.release() }
    }

    /// The aliases in this generation, in config order.
    public var aliases: [String] { instances.map(\.alias) }

    /// Delivers event `id` from the host to every subscriber, in order, on this thread.
    /// - Parameter payload: Bytes valid for the duration of the call.
    @inline(__always)
    public func publish(_ id: EventID, payload: UnsafeRawBufferPointer = UnsafeRawBufferPointer(start: nil, count: 0)) {
        events.publish(id.rawValue, source: Self.hostSource, payload: payload)
    }

    /// Delivers event `id` with a UTF-8 payload.
    public func publish(_ id: EventID, text: String) {
        var text = text
        text.withUTF8 { publish(id, payload: UnsafeRawBufferPointer($0)) }
    }

    /// Runs the check subscribers of `id` from the host.
    public func check(_ id: EventID, payload: UnsafeRawBufferPointer = UnsafeRawBufferPointer(start: nil, count: 0)) -> CheckResult {
        var deniedBy: String?
        let (verdict, reason) = MessageBuffer.with { message in
            let result = events.check(id.rawValue, source: Self.hostSource, payload: payload, reason: message)
            deniedBy = result.deniedBy.map { String(cString: $0) }
            return result.verdict
        }
        switch verdict {
        case PH_DENY: return .deny(by: deniedBy ?? "?", reason: reason)
        case PH_ALLOW: return .allow
        default: return .abstain
        }
    }

    /// The interned `"plughost"` source name.
    // nonisolated(unsafe): written once at first use, immutable C memory afterwards.
    nonisolated(unsafe) static let hostSource: UnsafePointer<CChar> = UnsafePointer(strdup("plughost")!)
}

/// The outcome of a check event.
public enum CheckResult: Equatable, Sendable {
    /// At least one subscriber allowed and none denied.
    case allow
    /// Every subscriber abstained (or there were none).
    case abstain
    /// `by` denied first, with `reason`.
    case deny(by: String, reason: String)
}
