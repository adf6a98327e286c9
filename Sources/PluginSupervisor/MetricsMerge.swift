import PluginRuntime

/// The whole host's metrics from each worker's Prometheus text: counters and
/// histograms summed over the live workers plus what ended workers had
/// counted (so no counter goes back when a worker dies or is replaced), gauges
/// labelled `worker` (or summed, for those whose meaning is a total; the largest
/// value, for a flag), and the supervisor's own figures once.
public enum MetricsMerge {
    /// Gauges whose meaning is a total over the workers: summed, not labelled.
    static let summedGauges: Set<String> = [
        "plughost_draining_generations", "plughost_lingering_generations", "plughost_retained_swift_images",
        // Each worker has a plugin process of its own for an isolated plugin: the host's is the sum.
        MetricNames.pluginProcessResidentBytes, MetricNames.pluginProcessRestarts,
    ]
    /// Gauges whose meaning is a flag or a setting, the same in every worker: the largest
    /// value, not labelled (a plugin isolated in one worker counts as isolated).
    static let maximumGauges: Set<String> = [MetricNames.pluginIsolated]

    /// What ended workers had counted: counter and histogram samples by series.
    public struct Totals: Sendable, Equatable {
        var values: [String: Double] = [:]
        var order: [String] = []
        var families: [String: Family] = [:]

        /// Nothing counted.
        public init() {}
    }

    /// A metric family's type and help.
    struct Family: Sendable, Equatable {
        var type: String
        var help: String?
    }

    /// One sample line.
    struct Sample {
        /// The metric name as written (with `_bucket`, `_sum`, … for histograms).
        var name: String
        /// The family it belongs to.
        var family: String
        /// The labels inside the braces, as written ("" for none).
        var labels: String
        var value: Double
        /// `name{labels}`: what identifies the series across workers.
        var key: String { labels.isEmpty ? name : "\(name){\(labels)}" }
    }

    /// The families and samples of a text exposition; lines that do not parse are skipped.
    static func parse(_ text: String) -> (families: [String: Family], samples: [Sample]) {
        var families: [String: Family] = [:]
        var samples: [Sample] = []
        for raw in text.split(separator: "\n", omittingEmptySubsequences: true) {
            let line = raw.trimmingPrefix(while: { $0 == " " })
            if line.hasPrefix("# TYPE ") {
                let parts = line.dropFirst(7).split(separator: " ", maxSplits: 1)
                if parts.count == 2 { families[String(parts[0]), default: Family(type: "")].type = String(parts[1]) }
                continue
            }
            if line.hasPrefix("# HELP ") {
                let parts = line.dropFirst(7).split(separator: " ", maxSplits: 1)
                if parts.count == 2 { families[String(parts[0]), default: Family(type: "untyped")].help = String(parts[1]) }
                continue
            }
            if line.hasPrefix("#") { continue }
            guard let sample = sample(String(line)) else { continue }
            samples.append(sample)
        }
        for index in samples.indices { samples[index].family = family(of: samples[index].name, in: families) }
        return (families, samples)
    }

    private static func sample(_ line: String) -> Sample? {
        let name: String
        var labels = ""
        var rest: Substring
        if let brace = line.firstIndex(of: "{") {
            guard let close = closingBrace(in: line, after: brace) else { return nil }
            name = String(line[..<brace])
            labels = String(line[line.index(after: brace)..<close])
            while labels.hasSuffix(",") { labels.removeLast() }
            rest = line[line.index(after: close)...]
        } else {
            guard let space = line.firstIndex(of: " ") else { return nil }
            name = String(line[..<space])
            rest = line[space...]
        }
        rest = rest.drop { $0 == " " }
        let valueText = rest.prefix { $0 != " " }
        guard !name.isEmpty, let value = Double(valueText) ?? specialValue(valueText) else { return nil }
        return Sample(name: name, family: name, labels: labels, value: value)
    }

    /// The brace that closes the label set opened at `brace`: the first one outside a quoted
    /// value (an exemplar after the value has braces of its own).
    private static func closingBrace(in line: String, after brace: String.Index) -> String.Index? {
        var quoted = false
        var escaped = false
        var index = line.index(after: brace)
        while index < line.endIndex {
            let character = line[index]
            if escaped {
                escaped = false
            } else if character == "\\" {
                escaped = quoted
            } else if character == "\"" {
                quoted.toggle()
            } else if character == "}" && !quoted {
                return index
            }
            index = line.index(after: index)
        }
        return nil
    }

    private static func specialValue(_ text: Substring) -> Double? {
        switch text {
        case "+Inf": .infinity
        case "-Inf": -.infinity
        case "NaN": .nan
        default: nil
        }
    }

    private static func family(of name: String, in families: [String: Family]) -> String {
        if families[name] != nil { return name }
        for suffix in ["_bucket", "_sum", "_count", "_total", "_created"] where name.hasSuffix(suffix) {
            let base = String(name.dropLast(suffix.count))
            if families[base] != nil { return base }
        }
        return name
    }

    /// Whether `sample` of `family` adds up across workers: counters, histograms, and a
    /// summary's sum and count (its quantiles do not add: they are labelled per worker).
    static func isCumulative(_ sample: Sample, of family: Family?) -> Bool {
        switch family?.type {
        case "counter", "histogram": true
        case "summary": sample.name.hasSuffix("_sum") || sample.name.hasSuffix("_count")
        default: false
        }
    }

    /// Adds the counter and histogram samples of `text` (a worker that ended) to `totals`.
    public static func fold(_ text: String, into totals: inout Totals) {
        let (families, samples) = parse(text)
        for sample in samples where isCumulative(sample, of: families[sample.family]) {
            if totals.values[sample.key] == nil { totals.order.append(sample.key) }
            totals.values[sample.key, default: 0] += sample.value
            totals.families[sample.family] = families[sample.family]
        }
    }

    /// The host's exposition from the live workers' texts (by pid), the ended workers'
    /// `retired` totals and the supervisor's own figures (already in text form).
    public static func merge(workers: [(pid: Int32, text: String)], retired: Totals, supervisor: String) -> String {
        var families: [String: Family] = retired.families
        var familyOrder: [String] = []
        var seriesByFamily: [String: [String]] = [:]
        var values: [String: Double] = [:]
        func add(_ family: String, _ key: String, _ value: Double, sum: Bool, maximum: Bool = false) {
            if seriesByFamily[family] == nil {
                familyOrder.append(family)
                seriesByFamily[family] = []
            }
            if values[key] == nil {
                seriesByFamily[family]!.append(key)
                values[key] = value
            } else if sum {
                values[key]! += value
            } else if maximum {
                values[key] = max(values[key]!, value)
            } else {
                values[key] = value
            }
        }
        for key in retired.order {
            guard let value = retired.values[key] else { continue }
            let name = key.firstIndex(of: "{").map { String(key[..<$0]) } ?? key
            add(family(of: name, in: retired.families), key, value, sum: true)
        }
        for (pid, text) in workers.sorted(by: { $0.pid < $1.pid }) {
            let (parsed, samples) = parse(text)
            for (name, family) in parsed where families[name] == nil || families[name]!.type.isEmpty { families[name] = family }
            for sample in samples {
                let family = parsed[sample.family]
                if isCumulative(sample, of: family) || summedGauges.contains(sample.family) {
                    add(sample.family, sample.key, sample.value, sum: true)
                } else if maximumGauges.contains(sample.family) {
                    add(sample.family, sample.key, sample.value, sum: false, maximum: true)
                } else {
                    let labels = sample.labels.isEmpty ? "worker=\"\(pid)\"" : "\(sample.labels),worker=\"\(pid)\""
                    add(sample.family, "\(sample.name){\(labels)}", sample.value, sum: false)
                }
            }
        }
        var text = ""
        for family in familyOrder {
            if let help = families[family]?.help { text += "# HELP \(family) \(help)\n" }
            if let type = families[family]?.type, !type.isEmpty { text += "# TYPE \(family) \(type)\n" }
            for key in seriesByFamily[family] ?? [] {
                text += "\(key) \(format(values[key] ?? 0))\n"
            }
        }
        return text + supervisor
    }

    /// A sample value as Prometheus reads it: integers without a fraction.
    static func format(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "+Inf" : "-Inf" }
        if value == value.rounded(), abs(value) < 9e15 { return String(Int64(value)) }
        return String(value)
    }

    /// The supervisor's own figures as text: workers serving, restarts, crashes and hangs
    /// per plugin (from the journal, all time), quarantined builds.
    public static func supervisorFigures(_ view: SupervisorView) -> String {
        typealias Names = MetricNames
        var text = "# TYPE \(Names.workers) gauge\n\(Names.workers) \(view.workers.filter(\.serving).count)\n"
        text += "# TYPE \(Names.workerRestarts) counter\n\(Names.workerRestarts) \(view.workers.reduce(0) { $0 + $1.restarts })\n"
        text += "# TYPE \(Names.workersEnded) counter\n\(Names.workersEnded) \(view.endedWorkers)\n"
        text += "# TYPE \(Names.crashes) counter\n"
        for (alias, count) in view.crashes.sorted(by: { $0.key < $1.key }) { text += "\(Names.crashes){alias=\"\(alias)\"} \(count)\n" }
        text += "# TYPE \(Names.hangs) counter\n"
        for (alias, count) in view.hangs.sorted(by: { $0.key < $1.key }) { text += "\(Names.hangs){alias=\"\(alias)\"} \(count)\n" }
        text += "# TYPE \(Names.quarantined) gauge\n\(Names.quarantined) \(view.quarantined.count)\n"
        return text
    }
}
