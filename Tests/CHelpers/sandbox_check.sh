#!/bin/sh
# Builds Sources/CSandbox with Tests/CHelpers/sandbox_check.c (gcc, or $CC),
# a small C plugin and, when swiftc is installed, a small Swift plugin, then
# runs the checks (each in a forked, sandboxed child). Exits non-zero when a
# check fails. Usage: sh Tests/CHelpers/sandbox_check.sh
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
cc=${CC:-gcc}
work=$(mktemp -d /tmp/sandbox_check.XXXXXX)
trap 'rm -rf "$work"' EXIT INT TERM
mkdir "$work/plugin" "$work/state"

$cc -std=c11 -Wall -Wextra -Werror -O1 -g -I"$root/Sources/CSandbox/include" \
    "$root"/Sources/CSandbox/*.c "$root/Tests/CHelpers/sandbox_check.c" \
    -o "$work/sandbox_check" -ldl -lpthread -lm

cat > "$work/plug.c" <<'C'
int plug_entry(void) { return 42; }
C
$cc -shared -fPIC -O1 -o "$work/plugin/libplug.so" "$work/plug.c"
printf 'plugin data\n' > "$work/plugin/data.txt"

swift_lib=/opt/swift/usr/lib/swift
if command -v swiftc >/dev/null 2>&1; then
    swift_lib=$(cd "$(dirname "$(command -v swiftc)")/../lib/swift" && pwd)
    cat > "$work/swiftplug.swift" <<'SWIFT'
import Dispatch
import Foundation

final class Box: @unchecked Sendable { var value: Int32 = 0 }

/* The runtime, Foundation (String(format:), Date), Dispatch and a Task. */
@_cdecl("x_entry")
public func x() -> Int32 {
    let base = Int32([1, 2, 3].map { $0 * 2 }.reduce(0, +))
    let text = String(format: "%d-%.1f", base, 1.5)
    let now = Date()
    let semaphore = DispatchSemaphore(value: 0)
    let box = Box()
    Task {
        box.value = Int32(text.count)
        semaphore.signal()
    }
    semaphore.wait()
    guard now.timeIntervalSince1970 > 0 else { return -1 }
    return base + box.value * 100
}

/* Keeps Dispatch's global queue busy for over a second, so its worker
   monitor (which reads /proc/<tid>/stat) runs with work pending. */
@_cdecl("x_busy")
public func busy() -> Int32 {
    let group = DispatchGroup()
    for _ in 0..<64 {
        DispatchQueue.global().async(group: group) { usleep(40_000) }
    }
    return group.wait(timeout: .now() + 10) == .success ? 0 : 1
}
SWIFT
    swiftc -emit-library -parse-as-library "$work/swiftplug.swift" -o "$work/plugin/libswiftplug.so"
fi

"$work/sandbox_check" "$work/plugin" "$work/state" "$swift_lib"
