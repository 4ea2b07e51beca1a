#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# The fleet manifests under deploy/: valid YAML (yamllint, strict), and the
# DaemonSet runs the tracer with options it has: its arguments are parsed
# by the binary itself (argp reads them left to right and --version, last,
# exits 0 only when every one before it was taken), and every flag is in
# --help. It asks for capabilities, not a privileged container, and mounts
# what the tracer reads. Prints PASS/FAIL/SKIP lines for tests/run.sh.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${TCPTRACE:-$ROOT/build/tcptrace-bpf}
DS=$ROOT/deploy/kubernetes/daemonset.yaml

if command -v yamllint >/dev/null; then
	if out=$(yamllint -s "$ROOT/deploy" 2>&1); then
		echo "PASS deploy-yamllint"
	else
		echo "FAIL deploy-yamllint: $(echo "$out" | head -n 5 | tr '\n' ' ')"
	fi
else
	echo "SKIP deploy-yamllint: yamllint not installed (make deps)"
fi

# The container's args: the "- " items under "args:", as YAML scalars
# (quotes dropped), until the indentation steps back out.
args=()
while IFS= read -r a; do
	a=${a#\"}; a=${a%\"}
	args+=("$a")
done < <(awk '
	/^ *args:/ { on = 1; ind = index($0, "args:"); next }
	on && /^ *- / { if (index($0, "-") > ind) { sub(/^ *- /, ""); print; next } }
	on { on = 0 }' "$DS")
if [ "${#args[@]}" -lt 2 ]; then
	echo "FAIL deploy-args: no args found in $DS"
elif [ ! -x "$BIN" ]; then
	echo "SKIP deploy-args: $BIN not built"
else
	rc=0
	out=$("$BIN" "${args[@]}" --version 2>&1) || rc=$?
	if [ "$rc" -eq 0 ] && [[ "$out" == "tcptrace-bpf "* ]]; then
		echo "PASS deploy-args-parse (${#args[@]} arguments)"
	else
		echo "FAIL deploy-args-parse: tcptrace-bpf ${args[*]} --version: exit $rc: $out"
	fi
	help=$("$BIN" --help)
	missing=
	for a in "${args[@]}"; do
		case "$a" in --*) grep -q -- "${a%%=*}[=,[ ]" <<<"$help" || missing+=" $a" ;; esac
	done
	if [ -z "$missing" ]; then
		echo "PASS deploy-args-in-help"
	else
		echo "FAIL deploy-args-in-help: not in --help:$missing"
	fi
fi

# Capabilities, not privileged; the host's views the tracer needs.
why=
grep -q 'privileged: true' "$DS" && why+=" privileged"
for cap in BPF PERFMON NET_ADMIN; do
	grep -Eq "add: \[.*\b$cap\b" "$DS" || why+=" no-$cap"
done
for m in /sys/kernel/btf /sys/fs/bpf /run/netns; do
	grep -q "path: $m\$" "$DS" || why+=" no-hostPath-$m"
done
grep -q 'hostNetwork: true' "$DS" || why+=" no-hostNetwork"
grep -q 'hostPID: true' "$DS" || why+=" no-hostPID"
if [ -z "$why" ]; then
	echo "PASS deploy-daemonset-shape"
else
	echo "FAIL deploy-daemonset-shape:$why"
fi
