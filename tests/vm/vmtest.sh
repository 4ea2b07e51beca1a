#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# `make vmtest`: the tracer built here, run on another kernel. It fetches a
# Debian kernel package (Debian 12's newest 6.1 by default), boots it under
# qemu (TCG: this machine has no KVM) with this machine's root file system
# shared read-only over 9p, and runs tests/vm/guest.sh inside: the tracer's
# self-check and the lab (tests/lab/scenarios.sh) in the guest's own
# network namespaces. Results come back through a second, writable 9p
# share of the run directory.
#
# Everything it fetches or builds stays in $VM_DIR (build/vm): the kernel
# package, its extracted modules (depmod'ed there), the run's initramfs.
# Nothing of the VM is installed on this machine.
#
# USAGE
#   sudo tests/vm/vmtest.sh [SCENARIO...]
#
# Prints one line per test, "PASS name", "FAIL name: why" or "SKIP name:
# why", every name prefixed with the kernel (vm6.1/lab/crash/v4), and exits
# 0 iff nothing failed. A guest that panics, hangs or ends without its
# results is a FAIL, with the tail of its console.
#
# Environment:
#   VM_KERNEL     6.1 (Debian 12, default) or 5.10 (Debian 11, from
#                 bullseye-security, fetched by URL: the host's apt sources
#                 are not touched)
#   VM_SCENARIOS  the lab scenarios run in the guest (default below; empty:
#                 the tracer's check alone)
#   VM_TESTS      test scripts run in the guest before the lab, each
#                 printing PASS/FAIL/SKIP lines (default none; e.g.
#                 "tests/privs_test.sh tests/coexist_test.sh")
#   VM_FAMILIES   the lab's families in the guest (default "v4")
#   VM_JOBS       lab variants at once in the guest (default 8)
#   VM_SMP, VM_MEM  guest CPUs (2) and MiB (2048)
#   VM_WATCHDOG   seconds the guest's tests may take (default 900: the 16
#                 scenarios take 135-310 s here, xdp alone up to 210 s of it)
#   VM_TIMEOUT    seconds qemu may live (default VM_WATCHDOG + 120)
#   VM_DIR        where it keeps its files (default build/vm)
#   VM_KEEP=1     keep the guest's lab directory (tracer logs and JSON of
#                 every variant) in $VM_DIR/lab-<kernel>
#   VMTEST=0      skip the whole thing (one SKIP line)
#
# The console of the last run of each kernel is kept in
# $VM_DIR/console-<kernel>.log, the guest's own log in guest-<kernel>.log.

set -u
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$top" || exit 1

VM_KERNEL=${VM_KERNEL:-6.1}
VM_DIR=${VM_DIR:-$top/build/vm}
VM_FAMILIES=${VM_FAMILIES:-v4}
VM_JOBS=${VM_JOBS:-8}
VM_SMP=${VM_SMP:-2}
VM_MEM=${VM_MEM:-2048}
VM_WATCHDOG=${VM_WATCHDOG:-900}
VM_TIMEOUT=${VM_TIMEOUT:-$((VM_WATCHDOG + 120))}
# One scenario per diagnosis family whose hooks differ between kernels
# (resets, drops by reason or call site, ICMP, NIC counts, listen queue,
# NAT; pending-reset: an abortive close told from a late answer without
# the reset reason of 6.10) and healthy traffic; the rest of the lab shares their code paths and
# TCG is ~20x slower than the host (see README: make vmtest). VM_SCENARIOS
# names others, e.g. "pmtu many slow dualstack".
VM_SCENARIOS=${VM_SCENARIOS-syn-drop refused no-route crash loss pmtu hang noread listen-overflow
	drop-synack firewall-reject host-unreachable nat idle xdp pending-reset}
[ "$#" -gt 0 ] && VM_SCENARIOS="$*"
VM_SCENARIOS=$(echo $VM_SCENARIOS)	# one line: it travels in vm.conf
TCPTRACE=${TCPTRACE:-$top/build/tcptrace-bpf}
PEER=${PEER:-$top/build/peer}

NAME=vm$VM_KERNEL		# the prefix of every result line
RUN=			# this run's directory, shared with the guest
QEMU_PID=

vm_log() { printf 'vm: %s\n' "$*" >&2; }

# ------------------------------------------------------------ cleanup

# On any exit: qemu (ours, by pid) killed, the run directory removed; its
# console and log are kept beside it first.
vm_cleanup() {
	local rc=$?

	trap - EXIT INT TERM
	if [ -n "$QEMU_PID" ] && kill -0 "$QEMU_PID" 2>/dev/null; then
		kill -TERM "$QEMU_PID" 2>/dev/null
		sleep 1
		kill -KILL "$QEMU_PID" 2>/dev/null
		wait "$QEMU_PID" 2>/dev/null
	fi
	if [ -n "$RUN" ] && [ -d "$RUN" ]; then
		[ -f "$RUN/console.log" ] && mv -f "$RUN/console.log" "$VM_DIR/console-$VM_KERNEL.log"
		[ -f "$RUN/guest.log" ] && mv -f "$RUN/guest.log" "$VM_DIR/guest-$VM_KERNEL.log"
		if [ "${VM_KEEP:-0}" = 1 ] && ls -d "$RUN"/tcptrace-lab.* >/dev/null 2>&1; then
			rm -rf "$VM_DIR/lab-$VM_KERNEL"
			mv "$RUN"/tcptrace-lab.* "$VM_DIR/lab-$VM_KERNEL"
			vm_log "the guest's lab directory is in $VM_DIR/lab-$VM_KERNEL"
		fi
		rm -rf "$RUN"
	fi
	exit "$rc"
}

# ------------------------------------------------------------ the kernel

# Each kernel is kept in $VM_DIR/<kernel>/<package>/: the .deb, its
# extraction (boot/vmlinuz-*, lib/modules/<version>/ with a modules.dep of
# ours: the package ships none) and a .ready stamp written last, so an
# interrupted extraction is redone, not trusted.

# newest_apt PREFIX PATTERN: the newest package apt knows whose name starts
# with PREFIX and matches PATTERN (pkgnames: a prefix lookup, much cheaper
# than a search).
newest_apt() {
	apt-cache pkgnames "$1" 2>/dev/null | grep -E "$2" | sort -V | tail -n 1
}

# kernel_apt PREFIX PATTERN: the newest package of this machine's apt
# sources whose name matches PATTERN (and starts with PREFIX), downloaded into $VM_DIR/$VM_KERNEL. Prints the
# .deb's path.
kernel_apt() {
	local prefix=$1 pattern=$2 pkg file dir=$VM_DIR/$VM_KERNEL

	pkg=$(newest_apt "$prefix" "$pattern")
	if [ -z "$pkg" ]; then
		# a fresh machine has no package lists yet
		vm_log "apt knows no $pattern: apt-get update"
		apt-get update -qq >/dev/null 2>&1
		pkg=$(newest_apt "$prefix" "$pattern")
	fi
	if [ -z "$pkg" ]; then
		kernel_cached
		return
	fi
	file=$(apt-cache show --no-all-versions "$pkg" 2>/dev/null | awk '/^Filename:/ { print $2; exit }')
	file=$dir/${file##*/}
	if [ ! -s "$file" ]; then
		vm_log "fetching $pkg"
		mkdir -p "$dir"
		# apt drops privileges to _apt, who may not write here: as root
		(cd "$dir" && apt-get download -qq -o APT::Sandbox::User=root "$pkg" >/dev/null 2>&1) ||
			{ echo "apt-get download $pkg failed" >&2; return 1; }
	fi
	[ -s "$file" ] || { echo "apt-get download $pkg did not give ${file##*/}" >&2; return 1; }
	echo "$file"
}

# kernel_url MIRROR SUITE PATTERN: the newest package matching PATTERN in
# SUITE's main/binary-amd64 index, by URL with apt's own downloader (no
# curl needed), checked against the release file's signature (Debian's
# keyring) and the index's hashes. Prints the .deb's path.
kernel_url() {
	local mirror=$1 suite=$2 pattern=$3 dir=$VM_DIR/$VM_KERNEL tmp sum line pkg ver path sha file
	local get=(/usr/lib/apt/apt-helper -o APT::Sandbox::User=root download-file)

	mkdir -p "$dir"
	tmp=$(mktemp -d "$dir/index.XXXXXX") || return 1
	if ! "${get[@]}" "$mirror/dists/$suite/InRelease" "$tmp/InRelease" >/dev/null 2>&1; then
		rm -rf "$tmp"
		kernel_cached
		return
	fi
	if ! gpgv --keyring /usr/share/keyrings/debian-archive-keyring.gpg \
		"$tmp/InRelease" >/dev/null 2>&1; then
		rm -rf "$tmp"
		echo "$mirror/dists/$suite/InRelease: bad signature" >&2
		return 1
	fi
	sum=$(awk '/^SHA256:/ { s = 1; next } /^[^ ]/ { s = 0 }
		   s && $3 == "main/binary-amd64/Packages.xz" { print $1; exit }' "$tmp/InRelease")
	if [ -z "$sum" ] || ! "${get[@]}" "$mirror/dists/$suite/main/binary-amd64/Packages.xz" \
		"$tmp/Packages.xz" "SHA256:$sum" >/dev/null 2>&1; then
		rm -rf "$tmp"
		echo "$mirror/dists/$suite: cannot fetch a verified Packages.xz" >&2
		return 1
	fi
	# one "package version path sha256" line a matching stanza; newest last
	line=$(xz -dc "$tmp/Packages.xz" | awk -v re="$pattern" '
		BEGIN { RS = ""; FS = "\n" }
		{
			p = v = f = s = ""
			for (i = 1; i <= NF; i++) {
				split($i, kv, ": ")
				if (kv[1] == "Package") p = kv[2]
				else if (kv[1] == "Version") v = kv[2]
				else if (kv[1] == "Filename") f = kv[2]
				else if (kv[1] == "SHA256") s = kv[2]
			}
			if (p ~ re) print p, v, f, s
		}' | sort -V -k2,2 | tail -n 1)
	rm -rf "$tmp"
	read -r pkg ver path sha <<<"$line"
	if [ -z "${sha:-}" ]; then
		echo "$mirror/dists/$suite has no package matching $pattern" >&2
		return 1
	fi
	file=$dir/${path##*/}
	if [ ! -s "$file" ]; then
		vm_log "fetching $pkg $ver"
		if ! "${get[@]}" "$mirror/$path" "$file.part" "SHA256:$sha" >/dev/null 2>&1; then
			rm -f "$file.part"
			echo "cannot fetch $mirror/$path" >&2
			return 1
		fi
		mv "$file.part" "$file"
	fi
	echo "$file"
}

# kernel_cached: offline, the newest .deb fetched before, if any.
kernel_cached() {
	local file

	file=$(ls "$VM_DIR/$VM_KERNEL"/*.deb 2>/dev/null | sort -V | tail -n 1)
	if [ -z "$file" ]; then
		echo "cannot find a $VM_KERNEL kernel package (no package list, no mirror, nothing cached)" >&2
		return 1
	fi
	vm_log "no package index reachable: using ${file##*/}, fetched before"
	echo "$file"
}

# kernel_unpack DEB: extract the kernel and its modules next to the .deb
# (once) and generate modules.dep; prints the tree's path.
kernel_unpack() {
	local deb=$1 tree=${1%.deb} kver tmp

	if [ ! -f "$tree/.ready" ]; then
		vm_log "extracting ${deb##*/}"
		rm -rf "$tree"
		tmp=$tree.tmp.$$
		rm -rf "$tmp"
		mkdir -p "$tmp"
		# sound, graphics, wireless, ...: 100 MB nobody here loads
		if ! dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$tmp" --wildcards \
			--exclude='*/kernel/sound/*' --exclude='*/kernel/drivers/gpu/*' \
			--exclude='*/kernel/drivers/media/*' --exclude='*/kernel/drivers/net/wireless/*' \
			--exclude='*/kernel/drivers/infiniband/*' --exclude='*/kernel/drivers/staging/*' \
			'./boot/vmlinuz-*' './lib/modules/*'; then
			rm -rf "$tmp"
			echo "cannot extract $deb" >&2
			return 1
		fi
		kver=$(ls "$tmp/lib/modules" | head -n 1)
		if [ -z "$kver" ] || [ ! -f "$tmp/boot/vmlinuz-$kver" ]; then
			rm -rf "$tmp"
			echo "$deb holds no kernel and modules" >&2
			return 1
		fi
		# Debian's .deb ships no modules.dep (its postinst runs depmod)
		if ! depmod -b "$tmp" "$kver" 2>"$tmp/depmod.err"; then
			echo "depmod failed: $(head -n 1 "$tmp/depmod.err")" >&2
			rm -rf "$tmp"
			return 1
		fi
		echo "$kver" >"$tmp/.kver"
		touch "$tmp/.ready"
		mv "$tmp" "$tree"
	fi
	echo "$tree"
}

# ------------------------------------------------------------ initramfs

# initramfs TREE KVER OUT: busybox, tests/vm/init, the modules the guest
# needs to mount its root (with their dependencies, in load order, as the
# generated modules.dep says) and vm.conf, as a gzip'ed cpio archive.
initramfs() {
	local tree=$1 kver=$2 out=$3 dir m line ko

	dir=$RUN/initramfs
	mkdir -p "$dir/bin" "$dir/etc" "$dir/modules" "$dir/proc" "$dir/sys" "$dir/dev" "$dir/newroot"
	cp /bin/busybox "$dir/bin/busybox" || return 1
	"$dir/bin/busybox" --install -s "$dir/bin" 2>/dev/null
	# --install names the applets by their host paths: make them relative
	for m in "$dir"/bin/*; do
		[ -L "$m" ] && ln -sf busybox "$m"
	done
	cp tests/vm/init "$dir/init" && chmod 755 "$dir/init" || return 1
	: >"$dir/modules/order"
	# virtio_pci: the 9p transport's PCI device; 9p: the file system
	for m in virtio_pci 9pnet_virtio 9p; do
		while read -r line; do
			case "$line" in
			insmod\ *) ko=${line#insmod }; ko=${ko%% *} ;;
			*) continue ;;	# "builtin NAME"
			esac
			grep -qx "${ko##*/}" "$dir/modules/order" && continue
			cp "$ko" "$dir/modules/" || return 1
			echo "${ko##*/}" >>"$dir/modules/order"
		done < <(modprobe -d "$tree" -S "$kver" --show-depends "$m" 2>&1)
	done
	if ! grep -q '^9p\.ko$' "$dir/modules/order"; then
		echo "$kver: no 9p module among $(paste -sd' ' "$dir/modules/order")" >&2
		return 1
	fi
	cat >"$dir/etc/vm.conf" <<-EOF
		VM_TOP='$top'
		VM_RUN='$RUN'
		VM_TREE='$tree'
		VM_KVER='$kver'
		VM_WATCHDOG='$VM_WATCHDOG'
		VM_ARGS='$NAME $VM_JOBS ${VM_FAMILIES// /,} ${VM_KEEP:-0} $VM_SCENARIOS'
		VM_TESTS='${VM_TESTS:-}'
	EOF
	(cd "$dir" && find . | "$dir/bin/busybox" cpio -o -H newc 2>/dev/null) | gzip -1 >"$out" ||
		return 1
	rm -rf "$dir"
}

# ------------------------------------------------------------ results

# vm_fail WHY: a FAIL line for the VM itself, then the console's tail.
vm_fail() {
	echo "FAIL $NAME/$1"
	FAILED=1
}

console_tail() {
	if [ -s "$RUN/console.log" ]; then
		echo "    --- console (last 40 lines; all of it in $VM_DIR/console-$VM_KERNEL.log)"
		tail -n 40 "$RUN/console.log" | tr -d '\r' | sed 's/^/    | /'
	else
		echo "    --- the console is empty"
	fi
}

# kernel_complaints: what the guest's kernel printed (quiet: warnings and
# worse) besides the tests' own output.
kernel_complaints() {
	local lines

	lines=$(tr -d '\r' <"$RUN/console.log" | grep -a -E '^\[ *[0-9]+\.[0-9]+\] ' |
		grep -v -E 'reboot: Power down' | tail -n 20)
	[ -n "$lines" ] || return 0
	echo "    --- the guest kernel's messages (last 20)"
	printf '%s\n' "$lines" | sed 's/^/    | /'
}

# print_new: the result lines the guest added since the last call, with the
# kernel's prefix (the guest writes each line with one write: no halves).
PRINTED=0
print_new() {
	local n

	[ -f "$RUN/results" ] || return 0
	n=$(wc -l <"$RUN/results")
	[ "$n" -gt "$PRINTED" ] || return 0
	sed -n "$((PRINTED + 1)),${n}p" "$RUN/results" |
		sed -E "s#^(PASS|FAIL|SKIP) #\\1 $NAME/#"
	PRINTED=$n
}

# ------------------------------------------------------------ main

main() {
	local deb tree kver t0=$SECONDS t_boot tool pattern why

	if [ "${VMTEST:-1}" = 0 ]; then
		echo "SKIP $NAME: VMTEST=0"
		return 0
	fi
	if [ "$(id -u)" -ne 0 ]; then
		echo "SKIP $NAME: needs root (the guest reads this machine's root over 9p)"
		return 0
	fi
	if [ ! -x "$TCPTRACE" ] || [ ! -x "$PEER" ]; then
		echo "SKIP $NAME: $TCPTRACE or $PEER is not built (make)"
		return 0
	fi
	for tool in qemu-system-x86_64 dpkg-deb depmod modprobe gpgv xz; do
		if ! command -v "$tool" >/dev/null; then
			echo "FAIL $NAME: $tool is not installed (make deps)"
			return 1
		fi
	done
	# the initramfs runs it before any library is there
	if [ ! -x /bin/busybox ] || ldd /bin/busybox >/dev/null 2>&1; then
		echo "FAIL $NAME: /bin/busybox is not the static one (make deps: busybox-static)"
		return 1
	fi

	# the guest mounts tmpfs on these: a tree below them is hidden there
	case "$top/" in
	/tmp/* | /run/* | /var/tmp/* | /root/* | /dev/*)
		echo "FAIL $NAME: the guest cannot see $top (tmpfs there): run from elsewhere"
		return 1
		;;
	esac
	case "$VM_DIR/" in
	/tmp/* | /run/* | /var/tmp/* | /root/* | /dev/*)
		echo "FAIL $NAME: VM_DIR=$VM_DIR is below a directory the guest mounts tmpfs on"
		return 1
		;;
	esac

	case "$VM_KERNEL" in
	6.1) pattern='^linux-image-6\.1\.0-[0-9]+-amd64$' ;;
	5.10) pattern='^linux-image-5\.10\.0-[0-9]+-amd64-unsigned$' ;;
	*)
		echo "FAIL $NAME: unknown VM_KERNEL '$VM_KERNEL' (6.1 or 5.10)"
		return 1
		;;
	esac

	mkdir -p "$VM_DIR" || return 1
	# Concurrent runs in this build directory share the kernel: the first
	# fetches and extracts it, the others wait for it.
	exec 9>"$VM_DIR/.lock-$VM_KERNEL"
	flock 9
	if [ "$VM_KERNEL" = 6.1 ]; then
		deb=$(kernel_apt linux-image-6.1.0- "$pattern")
	else
		deb=$(kernel_url http://deb.debian.org/debian-security bullseye-security "$pattern")
	fi
	if [ -z "$deb" ] || ! tree=$(kernel_unpack "$deb"); then
		flock -u 9
		echo "FAIL $NAME/kernel: cannot get the $VM_KERNEL kernel (see above)"
		return 1
	fi
	flock -u 9
	exec 9>&-
	kver=$(cat "$tree/.kver")

	RUN=$(mktemp -d "$VM_DIR/run.XXXXXX") || return 1
	if ! initramfs "$tree" "$kver" "$RUN/initramfs.gz"; then
		echo "FAIL $NAME/initramfs: cannot build it (see above)"
		return 1
	fi
	vm_log "booting $kver ($((SECONDS - t0)) s to prepare); up to $VM_TIMEOUT s, console in $RUN/console.log"

	t_boot=$SECONDS
	# -nodefaults: no NIC, no VGA; the only devices are the serial
	# console and the two 9p shares. -no-reboot: a panic (panic=-1
	# reboots at once) ends qemu instead of looping. no_timer_check: an
	# emulated CPU on a busy host can miss the few ticks the kernel's
	# IO-APIC timer check waits for, and the kernel then panics at boot
	# ("IO-APIC + timer doesn't work!", seen beside the host's lab); the
	# timer works, the check only measures how fast the guest runs.
	qemu-system-x86_64 -nodefaults -no-user-config -no-reboot \
		-machine pc -accel tcg,thread=multi -cpu max \
		-smp "$VM_SMP" -m "$VM_MEM" \
		-kernel "$tree/boot/vmlinuz-$kver" -initrd "$RUN/initramfs.gz" \
		-append "console=ttyS0 panic=-1 quiet loglevel=4 no_timer_check" \
		-display none -serial "file:$RUN/console.log" \
		-fsdev local,id=root,path=/,security_model=none,readonly=on,multidevs=remap \
		-device virtio-9p-pci,fsdev=root,mount_tag=hostroot \
		-fsdev "local,id=out,path=$RUN,security_model=none" \
		-device virtio-9p-pci,fsdev=out,mount_tag=out \
		</dev/null >"$RUN/qemu.log" 2>&1 &
	QEMU_PID=$!

	FAILED=
	while kill -0 "$QEMU_PID" 2>/dev/null; do
		print_new
		if [ $((SECONDS - t_boot)) -ge "$VM_TIMEOUT" ]; then
			vm_fail "timeout: qemu still ran after $VM_TIMEOUT s (the guest hung; VM_TIMEOUT)"
			kill -KILL "$QEMU_PID" 2>/dev/null
			break
		fi
		sleep 1
	done
	wait "$QEMU_PID" 2>/dev/null
	QEMU_PID=
	print_new
	if [ -s "$RUN/qemu.log" ]; then
		vm_log "qemu said: $(head -n 3 "$RUN/qemu.log" | paste -sd' ' -)"
	fi
	if grep -q '^FAIL guest' "$RUN/results" 2>/dev/null; then
		FAILED=1	# init said why (its watchdog, guest.sh's death)
	elif [ ! -f "$RUN/done" ] && [ -z "$FAILED" ]; then
		# a panic, a module that would not load, no share: init could
		# say it on the console at most
		why=$(grep -a -m 1 -E 'Kernel panic|^FAIL ' "$RUN/console.log" | tr -d '\r')
		vm_fail "guest: the guest ended without finishing its tests (${why:-see the console})"
	fi
	if [ -n "$FAILED" ]; then
		console_tail
	elif grep -q '^FAIL ' "$RUN/results" 2>/dev/null; then
		# the tests' own failures carry their details; the kernel's
		# complaints (warnings, oopses) may explain them
		FAILED=1
		kernel_complaints
	fi
	vm_log "$kver: $((SECONDS - t_boot)) s in qemu, $((SECONDS - t0)) s in all"
	[ -z "$FAILED" ]
}

trap vm_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
main "$@"
