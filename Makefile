# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# One build: BPF objects -> linked object -> skeleton -> one binary.

VERSION    := 0.1.0
ARCH       := x86
OUTPUT     := build
CLANG      ?= clang
LLVM_STRIP ?= llvm-strip
BPFTOOL    ?= bpftool
CC         ?= cc
PREFIX     ?= /usr/local

CFLAGS     ?= -O2 -g
USER_CFLAGS := -std=gnu11 -Wall -Wextra -Werror -D_GNU_SOURCE \
	-DTCPTRACE_VERSION='"$(VERSION)"' \
	-Iinclude -Iuser -I$(OUTPUT)
BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -Wall -Werror \
	-Iinclude -Ivmlinux/$(ARCH)
LDLIBS     := -lbpf -lelf -lz

# Kernel programs, one concern a file; linked into one object and skeleton.
BPF_SRCS   := $(wildcard bpf/*.bpf.c)
# state.bpf.o defines the shared maps; it goes first so the linker meets
# the definitions before the extern references (libbpf 1.1 needs that).
BPF_OBJS   := $(OUTPUT)/bpf/state.bpf.o \
	$(filter-out $(OUTPUT)/bpf/state.bpf.o,$(patsubst bpf/%.bpf.c,$(OUTPUT)/bpf/%.bpf.o,$(BPF_SRCS)))

# The pure core (no libbpf, no I/O) is shared by the binary and the unit tests.
CORE_SRCS  := user/diagnose.c user/flowtable.c user/catalogue.c
CORE_OBJS  := $(patsubst user/%.c,$(OUTPUT)/user/%.o,$(CORE_SRCS))
USER_SRCS  := $(filter-out $(CORE_SRCS),$(wildcard user/*.c))
USER_OBJS  := $(patsubst user/%.c,$(OUTPUT)/user/%.o,$(USER_SRCS))

UNIT_SRCS  := $(wildcard tests/unit/test_*.c)
UNIT_BINS  := $(patsubst tests/unit/%.c,$(OUTPUT)/%,$(UNIT_SRCS))

ifeq ($(V),1)
Q =
msg =
else
Q = @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

.DELETE_ON_ERROR:
.PHONY: all deps install uninstall test bench vmtest vmlinux clean

all: $(OUTPUT)/tcptrace-bpf $(OUTPUT)/peer $(UNIT_BINS)

# Debian 12 packages: the build chain, the lab (iproute2, nftables, jq) and
# the comparison arm of `make bench` (tcpdump).
DEPS := make clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev pkg-config \
	iproute2 nftables jq tcpdump procps
# `make vmtest`: qemu (TCG), a static busybox for the guest's initramfs, kmod
# (depmod, modprobe) for the guest kernel's modules, xz for a Debian index.
# Without recommends: qemu's would bring a GUI.
VM_DEPS := qemu-system-x86 busybox-static kmod xz-utils
deps:
	$(Q)missing() { for p in "$$@"; do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; \
	done; }; \
	m=$$(missing $(DEPS)); v=$$(missing $(VM_DEPS)); \
	if [ -n "$$m$$v" ]; then \
		echo "  DEPS     "$$m $$v; \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get update -qq && \
		{ [ -z "$$m" ] || apt-get install -y -qq $$m >/dev/null; } && \
		{ [ -z "$$v" ] || apt-get install -y -qq --no-install-recommends $$v >/dev/null; }; \
	fi

$(OUTPUT) $(OUTPUT)/bpf $(OUTPUT)/user $(OUTPUT)/tests:
	$(Q)mkdir -p $@

$(OUTPUT)/bpf/%.bpf.o: bpf/%.bpf.c Makefile | $(OUTPUT)/bpf
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -MMD -MP -c $< -o $@
	$(Q)$(LLVM_STRIP) -g $@

$(OUTPUT)/tcptrace.bpf.o: $(BPF_OBJS)
	$(call msg,GEN-OBJ,$@)
	$(Q)$(BPFTOOL) gen object $@ $^

$(OUTPUT)/tcptrace.skel.h: $(OUTPUT)/tcptrace.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name tcptrace_bpf > $@

$(OUTPUT)/user/%.o: user/%.c Makefile | $(OUTPUT)/user
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $(USER_CFLAGS) -MMD -MP -c $< -o $@

# Everything that includes the skeleton waits for it.
$(USER_OBJS): $(OUTPUT)/tcptrace.skel.h

$(OUTPUT)/tcptrace-bpf: $(USER_OBJS) $(CORE_OBJS)
	$(call msg,LD,$@)
	$(Q)$(CC) $(CFLAGS) $^ $(LDLIBS) -lpthread -o $@

# The load generator of `make bench` (netperf-like CRR/RR/STREAM).
$(OUTPUT)/load: tests/bench/load.c Makefile | $(OUTPUT)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -std=gnu11 -Wall -Wextra -Werror -MMD -MP $< -o $@

$(OUTPUT)/peer: tests/peer.c Makefile | $(OUTPUT)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -std=gnu11 -Wall -Wextra -Werror -MMD -MP $< -o $@

# BPF tests (BPF_PROG_TEST_RUN) load the real skeleton.
$(OUTPUT)/test_nic: tests/unit/test_nic.c $(OUTPUT)/tcptrace.skel.h Makefile | $(OUTPUT)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $(USER_CFLAGS) -MMD -MP $< $(LDLIBS) -o $@

$(OUTPUT)/test_%: tests/unit/test_%.c $(CORE_OBJS) Makefile | $(OUTPUT)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $(USER_CFLAGS) -MMD -MP $< $(CORE_OBJS) -o $@

install: $(OUTPUT)/tcptrace-bpf
	$(call msg,INSTALL,$(DESTDIR)$(PREFIX)/sbin/tcptrace-bpf)
	$(Q)install -D -m 0755 $< $(DESTDIR)$(PREFIX)/sbin/tcptrace-bpf

uninstall:
	$(Q)rm -f $(DESTDIR)$(PREFIX)/sbin/tcptrace-bpf

test: all
	$(Q)tests/run.sh

bench: all $(OUTPUT)/load
	$(Q)tests/bench.sh

# The tracer and the lab on Debian's 6.1 kernel (VM_KERNEL=5.10: Debian 11's)
# under qemu; tests/run.sh runs it too, as part of `make test`.
vmtest: $(OUTPUT)/tcptrace-bpf $(OUTPUT)/peer
	$(Q)tests/vm/vmtest.sh

vmlinux:
	$(call msg,GEN,vmlinux/$(ARCH)/vmlinux.h)
	$(Q)mkdir -p vmlinux/$(ARCH)
	$(Q)$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > vmlinux/$(ARCH)/vmlinux.h.tmp
	$(Q)mv vmlinux/$(ARCH)/vmlinux.h.tmp vmlinux/$(ARCH)/vmlinux.h

clean:
	$(call msg,CLEAN,$(OUTPUT))
	$(Q)rm -rf $(OUTPUT)

-include $(wildcard $(OUTPUT)/bpf/*.d $(OUTPUT)/user/*.d $(OUTPUT)/*.d)
