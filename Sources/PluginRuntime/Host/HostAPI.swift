#if canImport(Glibc)
import Glibc
#endif
import CPluginABI
import CCallRecord
import Logging
import Synchronization

/// The C functions behind `ph_host_t`. Each finds its ``PluginContext``
/// through the table's guard (``PluginContext/with(_:retired:_:)``), answers
/// PH_ERR_STATE (or NULL, or nothing) once the instance is destroyed, and never
/// lets a Swift error or type cross back.
package enum HostAPI {
    /// The host's version string (static C memory).
    // nonisolated(unsafe): written once at first use, immutable C memory afterwards.
    nonisolated(unsafe) static let version: UnsafePointer<CChar> = UnsafePointer(strdup("0.1.0")!)

    /// A `ph_host_t` with every function filled in; `host_data` is set by the caller.
    static func table(cAlias: UnsafePointer<CChar>, config: UnsafePointer<ph_config_t>) -> ph_host_t {
        ph_host_t(
            abi_major: PH_ABI_MAJOR,
            abi_minor: PH_ABI_MINOR,
            struct_size: UInt32(MemoryLayout<ph_host_t>.size),
            reserved: 0,
            host_data: nil,
            alias: cAlias,
            host_version: version,
            config: config,
            log: { host, level, message in
                guard let message else { return }
                PluginContext.with(host, retired: ()) { context in
                    // Labelled with the plugin (the source), not the host module that happens to log it.
                    context.logger.log(level: HostAPI.logLevel(level), "\(String(cString: message))", source: context.alias)
                    if level >= PH_LOG_ERROR { context.owner.countError() }
                }
            },
            event_id: { host, name in
                guard host != nil, let name else { return ph_event_id_t(PH_EVENT_NONE) }
                return EventNames.shared.id(for: String(cString: name))?.rawValue ?? ph_event_id_t(PH_EVENT_NONE)
            },
            subscribe: { host, id, priority, callback, userData in
                guard let callback else { return PH_ERR_INVALID }
                return HostAPI.subscribing(host, id) { context, registrations in
                    registrations.subscribe(id, priority: priority, .init(callback: callback, userData: userData, lock: context.lock?.mutex,
                                                                          record: context.owner.build.record))
                }
            },
            subscribe_check: { host, id, priority, callback, userData in
                guard let callback else { return PH_ERR_INVALID }
                return HostAPI.subscribing(host, id) { context, registrations in
                    registrations.subscribeCheck(id, priority: priority, .init(
                        callback: callback, userData: userData, lock: context.lock?.mutex, owner: context.cAlias,
                        record: context.owner.build.record))
                }
            },
            publish: { host, id, payload, length in
                guard host != nil, id >= PH_EVENT_FIRST_CUSTOM else { return PH_ERR_INVALID }
                return PluginContext.with(host, retired: PH_ERR_STATE) { context in
                    // Bounded: a subscriber that publishes what it handles would recurse until the stack ends.
                    guard ph_publish_depth_enter() != 0 else { return HostAPI.tooDeep(context, "publish", id) }
                    defer { ph_publish_depth_leave() }
                    let published: Void? = context.slot.withCurrent { generation in
                        generation.events.publish(id, source: context.cAlias, payload: UnsafeRawBufferPointer(start: payload, count: length))
                    }
                    return published == nil ? PH_ERR_STATE : PH_OK
                }
            },
            check: { host, id, payload, length, reason in
                guard host != nil, id != PH_EVENT_NONE else { return PH_ABSTAIN }
                return PluginContext.with(host, retired: PH_ABSTAIN) { context in
                    // Bounded like publish; too deep fails closed.
                    guard ph_publish_depth_enter() != 0 else {
                        _ = HostAPI.tooDeep(context, "check", id)
                        MessageBuffer.write("refused: publish and check calls nested \(PH_PUBLISH_MAX_DEPTH) deep on this thread", to: reason)
                        return PH_DENY
                    }
                    defer { ph_publish_depth_leave() }
                    return context.slot.withCurrent { generation in
                        MessageBuffer.with(forwardingTo: reason) { message in
                            generation.events.check(id, source: context.cAlias,
                                                    payload: UnsafeRawBufferPointer(start: payload, count: length), reason: message).verdict
                        }
                    } ?? PH_ABSTAIN
                }
            },
            provide_service: { host, id, service in
                guard host != nil, let id, let service else { return PH_ERR_INVALID }
                return PluginContext.with(host, retired: PH_ERR_STATE) { context in
                    guard let registrations = context.openRegistrations else { return PH_ERR_STATE }
                    let name = String(cString: id)
                    if let owner = registrations.provide(name, pointer: service, alias: context.alias) {
                        context.logger.warning("service '\(name)' is already provided by '\(owner)'; this one is ignored")
                        return PH_ERR_STATE
                    }
                    return PH_OK
                }
            },
            get_service: { host, id in
                guard host != nil, let id else { return nil }
                let name = String(cString: id)
                return PluginContext.with(host, retired: nil) { context in
                    guard let service = context.slot.withCurrent({ $0.services[name] }) ?? nil else {
                        context.noteMissing(name)
                        return nil
                    }
                    context.noteUse(of: service.provider)
                    return service.pointer
                }
            },
            cache_set: { host, key, keyLength, value, valueLength, ttl in
                guard host != nil, key != nil || keyLength == 0, value != nil || valueLength == 0 else { return PH_ERR_INVALID }
                return PluginContext.with(host, retired: PH_ERR_STATE) { context in
                    context.cache.set(key: UnsafeRawBufferPointer(start: key, count: keyLength),
                                      value: UnsafeRawBufferPointer(start: value, count: valueLength), ttlMilliseconds: UInt64(ttl))
                }
            },
            cache_get: { host, key, keyLength, buffer, capacity, length in
                guard host != nil, key != nil || keyLength == 0 else { return PH_ERR_INVALID }
                return PluginContext.with(host, retired: PH_ERR_STATE) { context in
                    context.cache.get(key: UnsafeRawBufferPointer(start: key, count: keyLength), into: buffer,
                                      capacity: buffer == nil ? 0 : capacity, length: length)
                }
            },
            cache_invalidate: { host, prefix, length in
                guard host != nil, prefix != nil || length == 0 else { return PH_ERR_INVALID }
                return PluginContext.with(host, retired: PH_ERR_STATE) { context in
                    context.cache.invalidate(prefix: UnsafeRawBufferPointer(start: prefix, count: length))
                    return PH_OK
                }
            },
            get_extension: { host, id in
                guard host != nil, let id else { return nil }
                return PluginContext.with(host, retired: nil) { $0.registrations.extensionSet.table(for: id) }
            }
        )
    }

    /// The checks every subscription passes (a known event, during create) before `add` records it.
    private static func subscribing(
        _ host: UnsafePointer<ph_host_t>?, _ id: ph_event_id_t, _ add: (PluginContext, PluginRegistrations) -> Void
    ) -> ph_status_t {
        guard host != nil, id != PH_EVENT_NONE else { return PH_ERR_INVALID }
        return PluginContext.with(host, retired: PH_ERR_STATE) { context in
            guard let registrations = context.openRegistrations else { return PH_ERR_STATE }
            guard EventNames.shared.cName(of: EventID(rawValue: id)) != nil else { return PH_ERR_NOT_FOUND }
            add(context, registrations)
            return PH_OK
        }
    }

    /// A copy of `count` bytes at `pointer` (none when either is empty).
    package static func bytes(_ pointer: UnsafeRawPointer?, _ count: Int) -> [UInt8] {
        guard let pointer, count > 0 else { return [] }
        return Array(UnsafeRawBufferPointer(start: pointer, count: count))
    }

    /// A publish or check nested past `PH_PUBLISH_MAX_DEPTH` on one thread: refused, and logged
    /// for the plugin that made it every time (each refusal is a call the plugin's author must see).
    static func tooDeep(_ context: PluginContext, _ call: String, _ id: ph_event_id_t) -> ph_status_t {
        let name = EventNames.shared.name(of: EventID(rawValue: id)) ?? "event \(id)"
        context.logger.error("\(call) of '\(name)' refused: nested \(PH_PUBLISH_MAX_DEPTH) deep on this thread (a subscriber that publishes what it handles recurses without end)")
        context.owner.countError()
        return PH_ERR_FAILED
    }

    static func logLevel(_ level: ph_log_level_t) -> Logger.Level {
        switch level {
        case PH_LOG_TRACE: .trace
        case PH_LOG_DEBUG: .debug
        case PH_LOG_INFO: .info
        case PH_LOG_WARNING: .warning
        default: .error
        }
    }
}
