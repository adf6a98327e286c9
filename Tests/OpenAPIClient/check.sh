#!/bin/sh
# Generates a Swift client from the OpenAPI document of a running host and calls calc through it.
#
#   Tests/OpenAPIClient/check.sh      (make test runs it after swift test)
#
# Starts the built host (.build/debug/plughost, or $PLUGHOST) over the example plugins with
# plughost.toml on a free loopback port, downloads its /_plughost/openapi.json into
# Sources/CalcClient/openapi.json (not committed: the document is the host's at test time),
# builds this package, whose swift-openapi-generator build plugin generates the client from
# that document, in the scratch folder .build-openapi-client next to this script, and runs
# CalcClient against the host. The host is stopped however the script ends. Exits non-zero on
# any failure: the host not starting, the generator refusing the document, the build, a call.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
plughost=${PLUGHOST:-$root/.build/debug/plughost}
scratch=$here/.build-openapi-client
swift=${SWIFT:-swift}

fail() {
    echo "check.sh: $*" >&2
    exit 1
}

[ -x "$plughost" ] || fail "$plughost is not built (run swift build first)"
[ -f "$root/plugins/calc/libcalc.so" ] || fail "the example plugins are not built (run make plugins first)"

work=$(mktemp -d "${TMPDIR:-/tmp}/plughost-openapi-client.XXXXXX")
server=
stop_host() {
    if [ -n "$server" ] && kill -0 "$server" 2>/dev/null; then
        kill -TERM "$server" 2>/dev/null || true
        wait "$server" 2>/dev/null || true
    fi
    server=
}
cleanup() {
    status=$?
    stop_host
    if [ "$status" -ne 0 ] && [ -s "$work/serve.log" ]; then
        echo "check.sh: the host's log:" >&2
        tail -n 40 "$work/serve.log" >&2
    fi
    rm -rf "$work"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM

# The host, on a free port; its address from the "serving HTTP on HOST:PORT" line.
cd "$root"
"$plughost" serve --plugins plugins --config plughost.toml --port 0 --pid-file "$work/plughost.pid" \
    >/dev/null 2>"$work/serve.log" &
server=$!
address=
tries=0
while [ -z "$address" ]; do
    kill -0 "$server" 2>/dev/null || fail "the host exited before serving"
    [ "$tries" -lt 200 ] || fail "the host did not log 'serving HTTP on' within 20 s"
    address=$(sed -n 's/.*serving HTTP on \([^" ]*\).*/\1/p' "$work/serve.log" | head -n 1)
    [ -n "$address" ] || { sleep 0.1; tries=$((tries + 1)); }
done
url=http://$address
echo "check.sh: host serving at $url"

# GET URL to FILE (curl, or python3 where curl is missing); fails on a non-2xx answer.
download() {
    if command -v curl >/dev/null 2>&1; then
        curl -fsS --max-time 10 -o "$2" "$1"
    else
        python3 -c 'import sys, urllib.request; open(sys.argv[2], "wb").write(urllib.request.urlopen(sys.argv[1], timeout=10).read())' "$1" "$2"
    fi
}

tries=0
until download "$url/_plughost/ready" "$work/ready" 2>/dev/null; do
    [ "$tries" -lt 200 ] || fail "$url/_plughost/ready did not answer 200 within 20 s"
    sleep 0.1
    tries=$((tries + 1))
done
download "$url/_plughost/openapi.json" "$here/Sources/CalcClient/openapi.json" || fail "could not download $url/_plughost/openapi.json"
echo "check.sh: downloaded the host's OpenAPI document ($(wc -c <"$here/Sources/CalcClient/openapi.json") bytes)"

# The client, generated from that document by swift-openapi-generator's build plugin.
cd "$here"
started=$(date +%s)
"$swift" build --scratch-path "$scratch" --product CalcClient || fail "building the client from the host's document failed"
echo "check.sh: client built in $(($(date +%s) - started)) s"
bin=$("$swift" build --scratch-path "$scratch" --show-bin-path)

"$bin/CalcClient" "$url" || fail "the generated client's calls to calc did not answer as expected"

stop_host
echo "check.sh: passed"
