public import PluginRuntime
public import Logging

extension PluginRuntime {
    /// A runtime that offers plugins the HTTP extension (`plughost.http/1`) when `servesHTTP` is set.
    /// - Parameter servesHTTP: Set by an HTTP adapter that serves ``Generation/handle(_:)``.
    /// - Parameter containment: The crash journal that quarantines plugins (see ``PluginRuntime/containment``).
    public convenience init(pluginsDirectory: String, config: HostConfig = HostConfig(), servesHTTP: Bool,
                            containment: ContainmentFiles? = nil, logger: Logger = Logger(label: "plughost")) {
        self.init(pluginsDirectory: pluginsDirectory, config: config,
                  extensions: servesHTTP ? [HTTPHostExtension.shared] : [], containment: containment, logger: logger)
    }

    /// Whether plugins are offered the HTTP extension.
    public var servesHTTP: Bool { extensions.contains { $0 === HTTPHostExtension.shared } }
}
