import CEventCounters
import CMallocCounter
import CPluginABI
import Foundation
import Logging
import PluginRuntime

/// Event dispatch through the host against calling the same C callbacks
/// directly from a Swift array.
enum EventDispatchBench {
    static func run(fixtures: String, subscribers: Int, logger: Logger) throws -> [Figure] {
        let folder = try BenchFolder(fixtures: fixtures)
        for index in 0..<subscribers { try folder.addNoop(alias: "noop\(index)", library: "libnoop.so") }
        let runtime = PluginRuntime(pluginsDirectory: folder.path, config: HostConfig(), logger: logger)
        try runtime.start()
        defer { runtime.shutdown() }
        let generation = runtime.generation!
        let tick = EventNames.shared.id(for: "bench.tick")!
        precondition(generation.events.subscriberCount(of: tick) == subscribers)

        let iterations = max(200_000, 20_000_000 / subscribers)
        let hostSamples = Measure.samples(iterations: iterations) { count in
            for _ in 0..<count { generation.publish(tick) }
        }
        let host = Measure.median(hostSamples)

        // Baseline: the plugin's callback, called directly from a flat Swift array. The host
        // loaded a shadow copy; this opens the same file once more, as its own image.
        let image = dlopen(folder.path + "/libnoop.so", RTLD_NOW | RTLD_LOCAL)!
        defer { dlclose(image) }
        let tickFunction = unsafeBitCast(dlsym(image, "noop_tick")!, to: ph_event_fn.self)
        let states = (0..<subscribers).map { _ in UnsafeMutableRawPointer.allocate(byteCount: 8, alignment: 8) }
        let callbacks = ContiguousArray(states.map { (tickFunction, Optional($0)) })
        var event = ph_event_t(struct_size: UInt32(MemoryLayout<ph_event_t>.size), id: tick.rawValue,
                               name: nil, source: nil, payload: nil, payload_length: 0)
        let direct = withUnsafePointer(to: &event) { event in
            Measure.nanoseconds(iterations: iterations) { count in
                for _ in 0..<count { for (function, state) in callbacks { function(state, event) } }
            }
        }
        states.forEach { $0.deallocate() }

        let probe = malloc_counter_allocations()
        UnsafeMutableRawPointer.allocate(byteCount: 64, alignment: 8).deallocate()
        precondition(malloc_counter_allocations() > probe, "the malloc counter does not see allocations")
        let before = malloc_counter_allocations()
        for _ in 0..<100_000 { generation.publish(tick) }
        let allocations = Double(malloc_counter_allocations() - before) / 100_000

        var figures = [Figure(
            name: "one event to \(subscribers) plugin(s) (counted for metrics)", value: host, baseline: direct, unit: "ns",
            target: subscribers == 10 ? "≤ 1.0× and ≤ 30 ns" : "—", met: subscribers != 10 || (host <= 30 && host <= direct),
            spread: .of(hostSamples, ratio: false))]
        figures.append(Figure(name: "allocations per dispatch (\(subscribers))", value: allocations, baseline: nil,
                              unit: "", target: "0", met: allocations == 0))
        return figures
    }

    /// What counting one publish for metrics costs (the thread-local add each dispatch above includes).
    static func countingCost() -> Figure {
        let id = EventNames.shared.id(for: "bench.tick")?.rawValue ?? 1
        let iterations = 50_000_000
        let samples = Measure.samples(iterations: iterations) { count in
            for _ in 0..<count { ph_count_event(id, 10) }
        }
        return Figure(name: "counting one publish for metrics (published and delivered, thread-local; part of every dispatch figure above)",
                      value: Measure.median(samples), baseline: nil, unit: "ns", target: "—", met: true, spread: .of(samples, ratio: false))
    }
}
