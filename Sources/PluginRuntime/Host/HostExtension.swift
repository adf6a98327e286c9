#if canImport(Glibc)
import Glibc
#endif

/// A host feature that plugins look up by versioned id through
/// `ph_host_t.get_extension` (the HTTP extension, `plughost.http/1`, is one).
///
/// The runtime knows nothing of what an extension does. It asks each one for
/// a registration store per plugin instance (filled while that plugin's
/// `create` runs, through the extension's own C table) and, whenever it
/// assembles a generation, to freeze the stores of that generation's
/// instances, in priority order, into the part requests use. Adding an
/// extension needs no change inside the runtime: pass it to
/// ``PluginRuntime/init(pluginsDirectory:config:extensions:logger:)``.
public protocol HostExtension: AnyObject, Sendable {
    /// The versioned id plugins ask for, e.g. `plughost.http/1`.
    var id: String { get }
    /// The C table `get_extension` returns: static memory, valid for the life of the process.
    var table: UnsafeRawPointer { get }
    /// A new, empty registration store for the instance of `owner` about to be created.
    func makeRegistrations(for owner: PluginOwner) -> any ExtensionRegistrations
    /// Freezes `registrations` (one per instance, in priority order) into the
    /// part of a generation this extension serves from. Runs plugin code (for
    /// example wrapper `prepare`) on the control thread.
    func assemble(_ registrations: [any ExtensionRegistrations]) -> any ExtensionPart
    /// As ``assemble(_:)``, and makes what each quarantined plugin of `fences`
    /// guarded fail closed (its endpoints and the endpoints it wrapped answer
    /// 503, for the HTTP extension). The default ignores the fences.
    func assemble(_ registrations: [any ExtensionRegistrations], fences: [QuarantineFence]) -> any ExtensionPart
}

extension HostExtension {
    /// Assembles without fences: an extension that guards nothing has nothing to fail closed.
    public func assemble(_ registrations: [any ExtensionRegistrations], fences: [QuarantineFence]) -> any ExtensionPart {
        assemble(registrations)
    }
}

/// A plugin a generation leaves out because it is quarantined, with what it
/// guarded when it last ran: those guards fail closed instead of vanishing
/// (a quarantined auth wrapper must never open the door).
public struct QuarantineFence: Sendable {
    /// The quarantined plugin.
    public let alias: String
    /// Why it is quarantined: the last crash, and how to lift it.
    public let reason: String
    /// The journal line of its last crash.
    public let lastCrash: String
    /// What it registered when it last ran, one line each: `check NAME` for a check
    /// subscription, and each extension's own lines (see ``ExtensionPart/guards``).
    public let guards: [String]
}

/// What one plugin instance registered with one extension. Written only while
/// the plugin's `create` runs (on the control thread), read when generations are assembled.
public protocol ExtensionRegistrations: AnyObject {
    /// Registrations the extension refused (the plugin still loads); shown in its status.
    var warnings: [PluginError] { get }
    /// Forgets everything, once the instance is destroyed.
    func clear()
}

/// The part of a generation one extension serves from: immutable once assembled.
public protocol ExtensionPart: AnyObject, Sendable {
    /// Problems found while assembling (conflicts, failed preparations), one per loser.
    var warnings: [PluginError] { get }
    /// Frees what assembling made (for example wrapper states). Called once, on
    /// the control thread, after the generation has drained.
    func release()
    /// What each plugin guards in this part, by alias, one line per guard, kept
    /// so that the guards fail closed if the plugin is quarantined later (see
    /// ``HostExtension/assemble(_:fences:)``, which reads them back). Default: none.
    var guards: [String: [String]] { get }
}

extension ExtensionPart {
    /// No guards.
    public var guards: [String: [String]] { [:] }
}

/// The extensions one runtime offers, with their ids as C strings for `get_extension`.
final class ExtensionSet: @unchecked Sendable {
    // @unchecked Sendable: immutable after init; the C strings are only compared
    // in `table(for:)` and freed with the set (every registration store holds it).
    let extensions: [any HostExtension]
    private let cIDs: [UnsafeMutablePointer<CChar>]

    init(_ extensions: [any HostExtension]) {
        self.extensions = extensions
        cIDs = extensions.map { strdup($0.id)! }
    }

    deinit { cIDs.forEach { free($0) } }

    /// The table of the extension named `id`, or nil.
    func table(for id: UnsafePointer<CChar>) -> UnsafeRawPointer? {
        for (index, cID) in cIDs.enumerated() where strcmp(cID, id) == 0 { return extensions[index].table }
        return nil
    }

    /// The position of `target` in the set, or nil when the runtime does not offer it.
    func index(of target: any HostExtension) -> Int? {
        extensions.firstIndex { $0 === target }
    }
}
