#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# The CO-RE check, as `make test` and `make corecheck` run it: will
# build/tcptrace.bpf.o load on each kernel we support? Without booting
# any of them: their BTF comes from distribution packages
# (tests/core/kernels.sh), and build/core_check resolves the object's
# CO-RE relocations against it and follows what the verifier would
# reach, for both of the loader's plans (tp_btf first, or classic
# tracepoints), as user/hook_plan.c makes them for that kernel. As root,
# build/core_oracle then checks the checker: libbpf relocates each program
# against each kernel's BTF and loads it here, and the verdicts must agree.
#
# USAGE
#   tests/core/run.sh [KERNEL...]     default: 5.10 5.15 6.1 6.8 6.12 and the host's
#
# One line a kernel and plan: "PASS core/6.1/tp_btf", "FAIL core/5.10/classic:
# why" (the problems are listed above it), "SKIP core/6.8: why".
# Environment: CORE_KERNELS (BTF cache, default build/kernels), CORE_OBJ.

set -u
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$top" || exit 1

dir=${CORE_KERNELS:-build/kernels}
obj=${CORE_OBJ:-build/tcptrace.bpf.o}
check=build/core_check
t0=$SECONDS

for f in "$check" build/core_oracle "$obj"; do
	if ! [ -e "$f" ]; then
		echo "FAIL core: $f is missing (run make corecheck)"
		exit 1
	fi
done

rc=0
args=()
while IFS= read -r line; do
	case $line in
	"kernel "*)
		read -r _ name path <<<"$line"
		args+=(-k "$name=$path")
		;;
	FAIL*)
		echo "$line"
		rc=1
		;;
	*)
		echo "$line"
		;;
	esac
done < <(tests/core/kernels.sh -d "$dir" "$@")
if [ $# -eq 0 ] || printf '%s\n' "$@" | grep -qx host; then
	if [ -r /sys/kernel/btf/vmlinux ]; then
		echo "core: host is $(uname -r)"
		args+=(-k host=/sys/kernel/btf/vmlinux)
	else
		echo "SKIP core/host: /sys/kernel/btf/vmlinux is not readable"
	fi
fi

CORE_KERNELS=$dir tests/core/selftest.sh || rc=1

if [ ${#args[@]} -gt 0 ]; then
	"$check" "${args[@]}" -p tp_btf -p classic "$obj"
	case $? in
	0) ;;
	1) rc=1 ;;	# its FAIL lines say why
	*) echo "FAIL core: core_check could not run (see above)"; rc=1 ;;
	esac
else
	echo "FAIL core: no kernel to check against"
	rc=1
fi
# The checker against libbpf itself: each program loaded alone into this
# kernel, relocated against each other kernel's BTF (core_oracle.c).
if [ "$(id -u)" -ne 0 ]; then
	echo "SKIP core/oracle: loading programs to compare with libbpf needs root"
elif [ ${#args[@]} -gt 0 ]; then
	kernels=()
	for ((i = 1; i < ${#args[@]}; i += 2)); do
		kernels+=("${args[$i]}")
	done
	build/core_oracle build/core/fixture.bpf.o fixture-old=build/core/kernel_old.o \
		fixture-new=build/core/kernel_new.o || rc=1
	build/core_oracle "$obj" "${kernels[@]}" || rc=1
fi
echo "core: $((SECONDS - t0)) s"
exit $rc
