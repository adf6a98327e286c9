/// One line of the benchmark table.
struct Figure {
    /// What was measured.
    let name: String
    /// plughost's figure, formatted with its unit.
    let value: Double
    /// The baseline's figure, if there is one.
    let baseline: Double?
    /// The unit of both figures.
    let unit: String
    /// The target in words, e.g. "≤ 30 ns".
    let target: String
    /// Whether the target is met (never, for a figure that was not measured).
    let met: Bool
    /// How far the figure moved over its rounds; nil for a single run.
    var spread: Spread? = nil
    /// False when the measurement came out impossible (a negative cost, nothing counted):
    /// the table says "not measured" and never "met".
    var measured: Bool = true

    /// value / baseline, when there is a baseline.
    var ratio: Double? { baseline.map { $0 > 0 ? value / $0 : 0 } }
}

/// The lowest and the highest of a figure over the rounds that measured it: of the
/// per-round ratio when the figure has a baseline, else of the figure itself.
struct Spread {
    let low: Double
    let high: Double
    let rounds: Int
    /// The spread is of the ratio (value / baseline per round).
    let ofRatio: Bool

    /// The spread of `samples`; nil for fewer than two.
    static func of(_ samples: [Double], ratio: Bool) -> Spread? {
        guard samples.count >= 2, let low = samples.min(), let high = samples.max() else { return nil }
        return Spread(low: low, high: high, rounds: samples.count, ofRatio: ratio)
    }
}

/// Renders figures as a Markdown table.
enum Report {
    static func table(_ figures: [Figure]) -> String {
        var lines = ["| figure | plughost | baseline | ratio | spread over rounds | target | met |", "|---|---:|---:|---:|---|---|---|"]
        for figure in figures {
            let baseline = figure.baseline.map { format($0) + " " + figure.unit } ?? "—"
            let ratio = figure.ratio.map { format($0) + "×" } ?? "—"
            let spread = figure.spread.map { spread in
                // No figure here can be negative: a round that came out so is a failed measurement.
                guard spread.low >= 0 else { return "not measured: a round came out negative (noise above the figure)" }
                let unit = spread.ofRatio ? "×" : " " + figure.unit
                return "\(format(spread.low))–\(format(spread.high))\(unit) (\(spread.rounds) rounds)"
            } ?? "one run"
            guard figure.measured else {
                lines.append("| \(figure.name) | not measured | \(baseline) | — | \(spread) | \(figure.target) | **no** |")
                continue
            }
            let met = figure.met ? "yes" : "**no**"
            lines.append("| \(figure.name) | \(format(figure.value)) \(figure.unit) | \(baseline) | \(ratio) | \(spread) | \(figure.target) | \(met) |")
        }
        return lines.joined(separator: "\n")
    }

    static func format(_ value: Double) -> String {
        if value >= 100 { return String(Int(value.rounded())) }
        let scaled = (value * 100).rounded() / 100
        return "\(scaled)"
    }
}
