/// The names under which plughost reports its figures through swift-metrics
/// (`plughost_…`, Prometheus style: counters end in `_total`, durations are in
/// seconds). One list, so the code, the tests and docs/OPERATING.md agree.
public enum MetricNames {
    /// Counter, `outcome` = succeeded | failed.
    public static let reloads = "plughost_reloads_total"
    /// Timer (a histogram in seconds): from the start of a reload until the new generation served or it failed.
    public static let reloadDuration = "plughost_reload_duration_seconds"
    /// Gauge: the generation serving now.
    public static let generation = "plughost_generation"
    /// Gauge: replaced generations whose requests are still being waited for (within the drain timeout).
    public static let drainingGenerations = "plughost_draining_generations"
    /// Gauge: replaced generations whose requests outlived the drain timeout.
    public static let lingeringGenerations = "plughost_lingering_generations"
    /// Gauge: Swift plugin images that stay mapped (never `dlclose`d).
    public static let retainedSwiftImages = "plughost_retained_swift_images"
    /// Gauge per `state` (running, failed, quarantined, disabled, …): how many aliases are in it.
    public static let plugins = "plughost_plugins"
    /// Counter per `event`: publishes (by plugins and by the host), whether or not anyone subscribed.
    public static let eventsPublished = "plughost_events_published_total"
    /// Counter per `event`: subscriber calls those publishes made.
    public static let eventsDelivered = "plughost_events_delivered_total"
    /// Counter per `event`, `alias` and `verdict` (allow | deny | abstain): answers of check subscribers.
    public static let checkVerdicts = "plughost_check_verdicts_total"
    /// Counter per `alias`: errors a plugin reported (a log line at error level through the host,
    /// or a failure status from an endpoint, a wrapper or a resume, answered 500).
    public static let pluginErrors = "plughost_plugin_errors_total"
    /// Counter per `alias`, `endpoint` ("METHOD /pattern") and `status` class (2xx…5xx): requests answered by a plugin endpoint.
    public static let httpRequests = "plughost_http_requests_total"
    /// Timer per `alias` and `endpoint` (a histogram in seconds): from the request's arrival to its response.
    public static let httpRequestDuration = "plughost_http_request_duration_seconds"
    /// Counter per `status` class: requests no plugin endpoint served (404, 405, the host's 503s).
    public static let httpUnrouted = "plughost_http_unrouted_requests_total"
    /// Counter per wrapper `alias`, `wrapper` and `endpoint`: requests a wrapper answered without calling next.
    public static let wrapperShortCircuits = "plughost_wrapper_short_circuits_total"
    /// Gauge per `alias` (running plugins): 1 when it runs in a plugin process of its own (`[isolation.ALIAS] mode = "process"`), else 0.
    public static let pluginIsolated = "plughost_plugin_isolated"
    /// Gauge per isolated `alias`: its plugin process's resident memory in bytes (0 while none runs).
    public static let pluginProcessResidentBytes = "plughost_plugin_process_resident_bytes"
    /// Gauge per isolated `alias`: restarts of its plugin process after a death or a hang (in this generation's instance).
    public static let pluginProcessRestarts = "plughost_plugin_process_restarts"
    /// Gauge: worker processes serving (with a supervisor).
    public static let workers = "plughost_workers"
    /// Counter: workers started to replace one that died or hung.
    public static let workerRestarts = "plughost_worker_restarts_total"
    /// Counter: worker processes that ended (died, were replaced or stopped), whose counts the host keeps.
    public static let workersEnded = "plughost_workers_ended_total"
    /// Counter per `alias`: crashes and hangs the crash journal charges to a plugin (with a supervisor).
    public static let crashes = "plughost_plugin_crashes_total"
    /// Counter per `alias`: the hangs among those (a call past `hang-kill-ms`).
    public static let hangs = "plughost_plugin_hangs_total"
    /// Gauge: plugins quarantined now.
    public static let quarantined = "plughost_quarantined_plugins"
}
