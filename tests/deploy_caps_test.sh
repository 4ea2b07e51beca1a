#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# The minimal Kubernetes manifest, deploy/tcptrace-bpf.yaml, without a cluster:
#   - it parses, and its DaemonSet selects its own pods;
#   - no container is privileged, can escalate, or adds a capability
#     beyond CAP_BPF, CAP_PERFMON, CAP_NET_ADMIN and --user's CAP_SETUID
#     and CAP_SETGID, and every container drops ALL first;
#   - the tracer, given the container's arguments, exactly its capability
#     set (as the bounding set of uid 0) and no_new_privs, attaches, drops
#     to the --user, and exits 0.
# Prints PASS/FAIL/SKIP lines for tests/run.sh.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${TCPTRACE:-$ROOT/build/tcptrace-bpf}
MANIFEST=${MANIFEST:-$ROOT/deploy/tcptrace-bpf.yaml}
TMP=$(mktemp -d)
trap '[ -n "${KEEP:-}" ] && echo "kept $TMP" || rm -rf "$TMP"' EXIT

# Prints "caps CAP,...", "user UID" and "args" then one argument a line,
# for the tracer's container; or "FAIL deploy-manifest: why" lines. One
# python: its start costs seconds on a loaded machine.
python3 - "$MANIFEST" >"$TMP/parsed" <<'EOF'
import sys
try:
    import yaml
except ImportError:
    print("SKIP deploy: python3-yaml is not installed (make deps)")
    sys.exit(0)

ALLOWED = {"BPF", "PERFMON", "NET_ADMIN", "SETUID", "SETGID"}
NEEDED = {"BPF", "PERFMON", "NET_ADMIN"}
fails = []

try:
    docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
except Exception as e:
    print(f"FAIL deploy-manifest: does not parse: {e}")
    sys.exit(0)
ds = [d for d in docs if d.get("kind") == "DaemonSet"]
if len(ds) != 1 or ds[0].get("apiVersion") != "apps/v1":
    print("FAIL deploy-manifest: expected one apps/v1 DaemonSet")
    sys.exit(0)
spec = ds[0]["spec"]
pod = spec["template"]["spec"]
labels = spec["template"]["metadata"].get("labels", {})
for k, v in spec["selector"]["matchLabels"].items():
    if labels.get(k) != v:
        fails.append(f"the selector's {k}={v} is not a label of its pods")
for key in ("hostPID", "hostIPC"):
    if pod.get(key):
        fails.append(f"{key}: true")
if not pod.get("hostNetwork"):
    fails.append("not hostNetwork: it would trace its own pod's namespace alone")
containers = pod.get("containers", []) + pod.get("initContainers", [])
tracer = None
for c in containers:
    sc = c.get("securityContext") or {}
    caps = sc.get("capabilities") or {}
    add = {a.upper().removeprefix("CAP_") for a in caps.get("add", [])}
    name = c.get("name", "?")
    if sc.get("privileged"):
        fails.append(f"{name}: privileged: true")
    if sc.get("allowPrivilegeEscalation", True):
        fails.append(f"{name}: allowPrivilegeEscalation is not false")
    if "ALL" not in {d.upper() for d in caps.get("drop", [])}:
        fails.append(f"{name}: does not drop ALL capabilities")
    if add - ALLOWED:
        fails.append(f"{name}: adds {', '.join(sorted(add - ALLOWED))}")
    if "tcptrace-bpf" in c.get("image", "") or c.get("name") == "tcptrace-bpf":
        tracer = (c, add)
if not tracer:
    fails.append("no tcptrace-bpf container")
elif NEEDED - tracer[1]:
    fails.append(f"the tracer lacks {', '.join(sorted(NEEDED - tracer[1]))}")
if tracer and (tracer[0].get("securityContext") or {}).get("runAsUser", 0) != 0:
    fails.append("the tracer must start as uid 0 (capabilities of a non-root "
                 "container are not effective) and drop with --user")
if fails:
    for f in fails:
        print(f"FAIL deploy-manifest: {f}")
    sys.exit(0)
args = [str(a) for a in tracer[0].get("args", [])]
print("caps " + ",".join(sorted(tracer[1])))
print("user " + (args[args.index("--user") + 1] if "--user" in args[:-1] else "0"))
print("args")
for a in args:
    print(a)
EOF
if grep -q '^SKIP' "$TMP/parsed"; then
	cat "$TMP/parsed"
	exit 0
fi
if grep -q '^FAIL' "$TMP/parsed" || ! grep -q '^caps ' "$TMP/parsed"; then
	cat "$TMP/parsed"
	exit 1
fi
echo "PASS deploy-manifest"

if [ "$(id -u)" -ne 0 ] || ! command -v setpriv >/dev/null; then
	echo "SKIP deploy-capabilities: needs root and setpriv"
	exit 0
fi
caps=$(awk '$1 == "caps" { print tolower($2) }' "$TMP/parsed")
mapfile -t args < <(sed '1,/^args$/d' "$TMP/parsed")
bounding="-all,+${caps//,/,+}"
uid=$(awk '$1 == "user" { print $2 }' "$TMP/parsed")
# The container: uid 0 whose bounding set is the manifest's list, no
# capability inherited, no_new_privs (allowPrivilegeEscalation: false).
rc=0
timeout 60 setpriv --bounding-set="$bounding" --inh-caps=-all --no-new-privs \
	"$BIN" "${args[@]}" -d 2 >"$TMP/out" 2>"$TMP/err" </dev/null || rc=$?
if [ "$rc" -eq 0 ] && grep -q 'tcptrace-bpf: tracing' "$TMP/err" &&
   { [ "$uid" = 0 ] || grep -q "now running as $uid" "$TMP/err"; } &&
   jq -e 'select(.type == "stats")' "$TMP/out" >/dev/null 2>&1; then
	echo "PASS deploy-capabilities"
else
	echo "FAIL deploy-capabilities: with $caps, $* exit $rc: $(head -c 400 "$TMP/err")"
fi
