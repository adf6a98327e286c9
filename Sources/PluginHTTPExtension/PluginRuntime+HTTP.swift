public import PluginRuntime
public import Logging

extension PluginRuntime {
    /// A runtime that offers plugins the HTTP extension (`plughost.http/1`) when `servesHTTP` is set.
    /// - Parameter servesHTTP: Set by an HTTP adapter that serves ``Generation/handle(_:)``.
    public convenience init(pluginsDirectory: String, config: HostConfig = HostConfig(), servesHTTP: Bool,
                            logger: Logger = Logger(label: "plughost")) {
        self.init(pluginsDirectory: pluginsDirectory, config: config,
                  extensions: servesHTTP ? [HTTPHostExtension.shared] : [], logger: logger)
    }

    /// Whether plugins are offered the HTTP extension.
    public var servesHTTP: Bool { extensions.contains { $0 === HTTPHostExtension.shared } }
}
