import CPluginABI

// Message services: a service shape this SDK defines so that plugins can offer and call
// services from Swift without writing a C struct. It is plain C underneath (a C plugin can
// offer or call one too); see the Services article for its layout.

/// The message-service struct, laid out by hand (offsets are the C layout on LP64):
///
///     typedef struct ph_message_service {
///         uint32_t struct_size;   // 24
///         uint32_t magic;         // 0x50484D53
///         void *context;
///         ph_status_t (*call)(void *context, const void *request, size_t length,
///                             ph_state_write_fn reply, void *sink, ph_message_t *error);
///     } ph_message_service_t;
enum MessageServiceLayout {
    static let size = 24
    static let magic: UInt32 = 0x5048_4D53
    static let contextOffset = 8
    static let callOffset = 16
    typealias Call = @convention(c) (UnsafeMutableRawPointer?, UnsafeRawPointer?, Int, ph_state_write_fn?,
                                     UnsafeMutableRawPointer?, UnsafeMutablePointer<ph_message_t>?) -> ph_status_t
}

extension PluginHost {
    /// Offers a message service under `id` (a versioned id such as `"greeter.greetings/1"`):
    /// each call hands `handler` the caller's request bytes and answers what it returns.
    /// Only inside ``Plugin/init(host:)``; the first provider of an id in config order keeps it.
    ///
    /// ```swift
    /// // fragment: statements
    /// try host.provideService("greeter.greetings/1") { request in
    ///     Array("Hello, \(String(decoding: request, as: UTF8.self))!".utf8)
    /// }
    /// ```
    ///
    /// Other plugins call it from any thread, at any time from the end of your `init(host:)`
    /// until your instance is released, concurrently too: hence `@Sendable` (share state
    /// through a `Mutex` or `Atomic`). Throwing answers the caller an error with your message.
    /// - Throws: ``PluginFailure`` when the host refuses the id (outside `init(host:)`, or
    ///   already provided by a plugin earlier in config order).
    public func provideService(_ id: String, _ handler: @escaping @Sendable ([UInt8]) throws -> [UInt8]) throws {
        let box = MessageServiceBox(handler)
        try provide(service: UnsafeRawPointer(box.table), id: id)
        retain(box)
    }

    /// The message service offered under `id`, or nil when no plugin offers it. Look it up in
    /// ``Plugin/start()`` or later (from `init(host:)` every lookup answers nil, and the host
    /// counts the service as one this plugin lacks). A reload that replaces or removes the
    /// provider re-creates this plugin, so a looked-up service stays valid for the whole life
    /// of this instance.
    ///
    /// ```swift
    /// // fragment: statements
    /// if let greetings = try host.messageService("greeter.greetings/1") {
    ///     host.log(.info, try greetings.call(text: "ada"))    // "Hello, ada!"
    /// }
    /// ```
    /// - Throws: ``PluginFailure`` when the plugin offering `id` offers something else than
    ///   a message service (a C struct of its own: use ``service(_:as:)`` with its header).
    public func messageService(_ id: String) throws -> MessageService? {
        guard let table = raw.pointee.get_service(raw, id) else { return nil }
        guard table.load(as: UInt32.self) >= MessageServiceLayout.size,
              table.load(fromByteOffset: 4, as: UInt32.self) == MessageServiceLayout.magic else {
            throw PluginFailure("service '\(id)' is not a message service")
        }
        return MessageService(id: id, table: table)
    }
}

/// A message service another plugin offers (``PluginHost/messageService(_:)``): call it with
/// request bytes, get the answer's bytes.
public struct MessageService: @unchecked Sendable {
    // @unchecked Sendable: a pointer to the provider's immutable table, whose functions are thread-safe.

    /// The id it was looked up under.
    public let id: String
    let table: UnsafeRawPointer
    /// The provider's C table: a message service struct (layout in the Services article), as `get_service` returned it.
    public var raw: UnsafeRawPointer { table }

    /// Calls the service: the provider's handler runs on this thread.
    /// - Throws: ``PluginFailure`` with the provider's message when it failed.
    public func call(_ request: [UInt8]) throws -> [UInt8] {
        let call = table.load(fromByteOffset: MessageServiceLayout.callOffset, as: MessageServiceLayout.Call?.self)
        let context = table.load(fromByteOffset: MessageServiceLayout.contextOffset, as: UnsafeMutableRawPointer?.self)
        guard let call else { throw PluginFailure("service '\(id)' has no call function") }
        var answer: [UInt8] = []
        var text = [CChar](repeating: 0, count: MessageWriter.capacity + 1)
        let status = withUnsafeMutablePointer(to: &answer) { sink in
            text.withUnsafeMutableBufferPointer { storage in
                var message = ph_message_t(data: storage.baseAddress, capacity: storage.count - 1)
                return request.withUnsafeBytes { bytes in
                    call(context, bytes.baseAddress, bytes.count, { sink, bytes, length in
                        guard let sink else { return PH_ERR_INVALID }
                        if length > 0 {
                            guard let bytes else { return PH_ERR_INVALID }
                            sink.assumingMemoryBound(to: [UInt8].self).pointee
                                .append(contentsOf: UnsafeRawBufferPointer(start: bytes, count: length))
                        }
                        return PH_OK
                    }, UnsafeMutableRawPointer(sink), &message)
                }
            }
        }
        guard status == PH_OK else {
            let reason = text.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
            throw PluginFailure("service '\(id)' failed (\(HostError(code: status))): \(reason.isEmpty ? "no message" : reason)")
        }
        return answer
    }

    /// Calls the service with UTF-8 text and reads its answer as UTF-8 text.
    public func call(text: String) throws -> String {
        String(decoding: try call(Array(text.utf8)), as: UTF8.self)
    }
}

/// A message service this plugin offers: the C table the host hands out, and the handler.
final class MessageServiceBox {
    let handler: @Sendable ([UInt8]) throws -> [UInt8]
    let table: UnsafeMutableRawPointer

    init(_ handler: @escaping @Sendable ([UInt8]) throws -> [UInt8]) {
        self.handler = handler
        table = .allocate(byteCount: MessageServiceLayout.size, alignment: 8)
        table.initializeMemory(as: UInt8.self, repeating: 0, count: MessageServiceLayout.size)
        table.storeBytes(of: UInt32(MessageServiceLayout.size), as: UInt32.self)
        table.storeBytes(of: MessageServiceLayout.magic, toByteOffset: 4, as: UInt32.self)
        table.storeBytes(of: Unmanaged.passUnretained(self).toOpaque(), toByteOffset: MessageServiceLayout.contextOffset,
                         as: UnsafeMutableRawPointer.self)
        let call: MessageServiceLayout.Call = { context, request, length, reply, sink, message in
            guard let context, let reply else { return PH_ERR_INVALID }
            let box = Unmanaged<MessageServiceBox>.fromOpaque(context).takeUnretainedValue()
            let bytes = length == 0 ? [] : Array(UnsafeRawBufferPointer(start: request, count: length))
            do {
                let answer = try box.handler(bytes)
                return answer.withUnsafeBytes { reply(sink, $0.baseAddress, $0.count) }
            } catch {
                MessageWriter.write("\(error)", to: message)
                return PH_ERR_FAILED
            }
        }
        table.storeBytes(of: call, toByteOffset: MessageServiceLayout.callOffset, as: MessageServiceLayout.Call.self)
    }

    deinit { table.deallocate() }
}
