/// Timing helpers: the median of several runs, in nanoseconds per operation.
enum Measure {
    /// Runs `body(iterations)` `repeats` times and returns the median nanoseconds per iteration.
    static func nanoseconds(iterations: Int, repeats: Int = 7, _ body: (Int) -> Void) -> Double {
        median(samples(iterations: iterations, repeats: repeats, body))
    }

    /// Runs `body(iterations)` `repeats` times and returns each run's nanoseconds per iteration.
    static func samples(iterations: Int, repeats: Int = 7, _ body: (Int) -> Void) -> [Double] {
        body(iterations / 10)  // warm up caches and branch predictors
        var samples: [Double] = []
        for _ in 0..<repeats {
            let start = ContinuousClock.now
            body(iterations)
            let elapsed = ContinuousClock.now - start
            samples.append(elapsed.nanoseconds / Double(iterations))
        }
        return samples
    }

    /// The middle value of `samples` (the upper middle of an even count).
    static func median(_ samples: [Double]) -> Double {
        samples.sorted()[samples.count / 2]
    }
}

extension Duration {
    /// The duration in nanoseconds.
    var nanoseconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) * 1e9 + Double(attoseconds) / 1e9
    }
}
