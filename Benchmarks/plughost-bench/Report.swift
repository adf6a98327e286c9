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
    /// Whether the target is met.
    let met: Bool

    /// value / baseline, when there is a baseline.
    var ratio: Double? { baseline.map { $0 > 0 ? value / $0 : 0 } }
}

/// Renders figures as a Markdown table.
enum Report {
    static func table(_ figures: [Figure]) -> String {
        var lines = ["| figure | plughost | baseline | ratio | target | met |", "|---|---:|---:|---:|---|---|"]
        for figure in figures {
            let baseline = figure.baseline.map { format($0) + " " + figure.unit } ?? "—"
            let ratio = figure.ratio.map { format($0) + "×" } ?? "—"
            lines.append("| \(figure.name) | \(format(figure.value)) \(figure.unit) | \(baseline) | \(ratio) | \(figure.target) | \(figure.met ? "yes" : "**no**") |")
        }
        return lines.joined(separator: "\n")
    }

    static func format(_ value: Double) -> String {
        if value >= 100 { return String(Int(value.rounded())) }
        let scaled = (value * 100).rounded() / 100
        return "\(scaled)"
    }
}
