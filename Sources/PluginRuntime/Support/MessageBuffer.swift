package import CPluginABI

/// A host-owned `ph_message_t` for one call into a plugin.
package enum MessageBuffer {
    /// Bytes a plugin may write, including the NUL.
    package static let capacity = 1024

    /// Calls `body` with a fresh, empty message buffer; returns its result and the text written.
    /// Costs no allocation when the plugin writes nothing (the usual case on success).
    package static func with<T>(_ body: (UnsafeMutablePointer<ph_message_t>) -> T) -> (T, String) {
        withUnsafeTemporaryAllocation(of: CChar.self, capacity: capacity) { storage in
            storage[0] = 0
            storage[capacity - 1] = 0
            var message = ph_message_t(data: storage.baseAddress, capacity: capacity - 1)
            let result = body(&message)
            guard storage[0] != 0 else { return (result, "") }
            return (result, String(cString: storage.baseAddress!))
        }
    }

    /// Calls `body` with a fresh buffer, copying what it wrote into `caller` (when non-nil).
    package static func with<T>(forwardingTo caller: UnsafeMutablePointer<ph_message_t>?, _ body: (UnsafeMutablePointer<ph_message_t>) -> T) -> T {
        let (result, text) = with(body)
        if !text.isEmpty { write(text, to: caller) }
        return result
    }

    /// Copies `text` (truncated) into a plugin-supplied message buffer, if any.
    package static func write(_ text: String, to message: UnsafeMutablePointer<ph_message_t>?) {
        var text = text
        text.withUTF8 { bytes in
            bytes.withMemoryRebound(to: CChar.self) { ph_message_copy(message, $0.baseAddress, $0.count) }
        }
    }
}
