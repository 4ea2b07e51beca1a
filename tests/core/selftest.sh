#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# core_check's own test: on a kernel that lacks what tests/core/fixture.bpf.c
# uses, every unguarded use must be flagged and every guarded twin must
# pass; on a kernel that has it all, everything passes. The kernels are the
# two made up by tests/core/fixture_kernel.c (always there), Debian's 5.10
# when the CO-RE check has fetched it, and the running one.
#
# USAGE
#   tests/core/selftest.sh [-d KERNEL_DIR]
#
# Prints "PASS core/fixture/KERNEL" or "FAIL core/fixture/KERNEL: why".

set -u
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$top" || exit 1

dir=${CORE_KERNELS:-build/kernels}
[ "${1:-}" = -d ] && dir=$2
check=build/core_check
obj=build/core/fixture.bpf.o

# Flagged where the kernel is old; every other program passes everywhere.
unsafe="fix_unguarded fix_escaped fix_sub_unguarded fix_enum_unguarded fix_helper_unguarded fix_args"

for f in "$check" "$obj" build/core/kernel_old.o build/core/kernel_new.o; do
	if ! [ -e "$f" ]; then
		echo "FAIL core/fixture: $f is missing (make $f)"
		exit 1
	fi
done
progs=$("$check" -l "$obj" | awk '$1 == "prog" { print $2 }')
plans=()
for p in $progs; do
	plans+=(-p "$p=$p")
done

kernels=("old:build/core/kernel_old.o:old" "new:build/core/kernel_new.o:new")
[ -s "$dir/5.10.btf" ] && kernels+=("5.10:$dir/5.10.btf:old")
[ -r /sys/kernel/btf/vmlinux ] && kernels+=("host:/sys/kernel/btf/vmlinux:new")

rc=0
for k in "${kernels[@]}"; do
	IFS=: read -r name path age <<<"$k"
	out=$("$check" -n fixture -k "$name=$path" "${plans[@]}" "$obj" 2>&1)
	# (forks are dear on some machines: one pass over the verdicts)
	declare -A got=()
	while read -r verdict test _; do
		test=${test%:}
		got[${test##*/}]=$verdict
	done < <(grep -E '^(PASS|FAIL) ' <<<"$out")
	wrong=()
	for p in $progs; do
		want=PASS
		[ "$age" = old ] && [[ " $unsafe " == *" $p "* ]] && want=FAIL
		[ "${got[$p]:-}" = "$want" ] || wrong+=("$p: ${got[$p]:-no result}, expected $want")
	done
	unset got
	if [ "$age" = old ]; then
		# The report names program, section, offset, instruction and field...
		grep -qE "^fixture/$name/fix_unguarded: fix_unguarded \(tp_btf/inet_sock_set_state \+0x[0-9a-f]+, insn [0-9]+\): struct sock\.sk_reserved_mem \(byte_off\): " <<<"$out" ||
			wrong+=("fix_unguarded: the report does not name section, offset and field")
		# ...says when a check exists but the access escapes it...
		grep -q "^fixture/$name/fix_escaped: .*outside its branch" <<<"$out" ||
			wrong+=("fix_escaped: no hint that the access escapes its check")
		# ...and blames a shared subprogram on the caller that reaches it alone.
		both=$("$check" -n fixture -k "$name=$path" \
			-p sub=fix_sub_guarded,fix_sub_unguarded "$obj" 2>&1)
		grep -qE "^fixture/$name/sub: reserved_of \(\.text .*\), run by fix_sub_unguarded: " <<<"$both" ||
			wrong+=("reserved_of: not blamed on fix_sub_unguarded alone")
	fi
	if [ ${#wrong[@]} -eq 0 ]; then
		echo "PASS core/fixture/$name"
	else
		echo "$out" | sed 's/^/    /'
		echo "FAIL core/fixture/$name: $(printf '%s; ' "${wrong[@]}" | sed 's/; $//')"
		rc=1
	fi
done
exit $rc
