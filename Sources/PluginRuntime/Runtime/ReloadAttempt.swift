/// A reload under way: when it began and the report it fills in step by step.
struct ReloadAttempt {
    /// Measures the swap latency and the drain.
    let clock = ContinuousClock()
    /// When the reload began.
    let began: ContinuousClock.Instant
    /// The report so far (a refused reload returns what was filled in before the refusal).
    var report: ReloadReport

    /// A reload of the runtime serving generation `generation` (0 when none), beginning now.
    init(generation: Int) {
        began = clock.now
        report = ReloadReport(succeeded: false, generation: generation, startedAt: WallClock.nanoseconds())
    }

    /// How long the reload has run.
    var elapsed: Duration { clock.now - began }

    /// The report of this reload refused for `problems`.
    func refused(_ problems: [PluginError]) -> ReloadReport {
        var report = report
        report.problems = problems
        report.swapLatency = elapsed
        return report
    }
}

/// Why a reload stopped before its swap: the old generation keeps serving.
struct ReloadRefusal: Error {
    /// The problems the report lists.
    let problems: [PluginError]

    /// A refusal for new `problems` (scan problems or generation warnings not reported before).
    init(_ problems: [PluginError]) {
        self.problems = problems
    }

    /// A refusal for one failed step.
    init(_ problem: PluginError) {
        self.problems = [problem]
    }
}

/// What a reload read again before building anything: the host config, the
/// plugins folder and what to do with each enabled alias.
struct ReloadInputs {
    /// The host config read again (or the one in force, when it has no file).
    let config: HostConfig
    /// The plugins folder scanned under `config`.
    let scan: PluginScan
    /// Keep, rebuild or leave failed, per alias.
    let decided: ReloadPlan
    /// The running instances the new generation keeps as they are.
    let kept: [PluginInstance]
    /// The manifests the scan read, as read (what a committed generation was built from).
    var manifests: [String: [UInt8]] = [:]
}
