# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# One build: BPF objects -> linked object -> skeleton -> one binary.

VERSION    := 0.1.0

# ARCH: the CPU the build is for, x86 or arm64 (x86_64, amd64 and aarch64
# say the same), by default the build host's. It picks the kernel headers
# (vmlinux/$(ARCH)) and __TARGET_ARCH_$(ARCH), which bpf_tracing.h needs to
# name pt_regs' registers. Another CPU than the host's is a cross build:
# its own output directory, so it never clobbers the host's, and Debian's
# cross compiler with the target's multiarch libraries (make deps ARCH=...).
arch_name   = $(patsubst x86_64,x86,$(patsubst amd64,x86,$(patsubst aarch64,arm64,$(1))))
HOST_ARCH  := $(call arch_name,$(shell uname -m))
ARCH       := $(HOST_ARCH)
override ARCH := $(call arch_name,$(ARCH))
ifeq ($(filter x86 arm64,$(ARCH)),)
$(error ARCH=$(ARCH): the kernel side is built for x86 or arm64)
endif
DEB_ARCH_x86   := amd64
DEB_ARCH_arm64 := arm64
TRIPLET_x86    := x86_64-linux-gnu
TRIPLET_arm64  := aarch64-linux-gnu
ifeq ($(ARCH),$(HOST_ARCH))
OUTPUT     := build
else
OUTPUT     := build/$(ARCH)
CROSS_COMPILE ?= $(TRIPLET_$(ARCH))-
endif

CLANG      ?= clang
LLVM_STRIP ?= llvm-strip
BPFTOOL    ?= bpftool
# make's built-in CC is "cc": only a CC the user chose is kept as it is.
ifeq ($(origin CC),default)
CC         := $(if $(CROSS_COMPILE),$(CROSS_COMPILE)gcc,cc)
endif
PREFIX     ?= /usr/local

CFLAGS     ?= -O2 -g
USER_CFLAGS := -std=gnu11 -Wall -Wextra -Werror -D_GNU_SOURCE \
	-DTCPTRACE_VERSION='"$(VERSION)"' \
	-Iinclude -Iuser -I$(OUTPUT)
# -fms-extensions: since 6.19 the kernel embeds tagged structs as unnamed
# members (ns_common's "struct ns_tree;", a Microsoft extension), and
# bpftool dumps them so; without the flag clang drops those members and
# -Werror stops on "declaration does not declare anything". Older headers
# compile to the same bytes with it.
BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -Wall -Werror \
	-fms-extensions -Wno-microsoft-anon-tag \
	-Iinclude -Ivmlinux/$(ARCH)
LDLIBS     := -lbpf -lelf -lz -lm

# Kernel programs, one concern a file; linked into one object and skeleton.
BPF_SRCS   := $(wildcard bpf/*.bpf.c)
# state.bpf.o defines the shared maps; it goes first so the linker meets
# the definitions before the extern references (libbpf 1.1 needs that).
BPF_OBJS   := $(OUTPUT)/bpf/state.bpf.o \
	$(filter-out $(OUTPUT)/bpf/state.bpf.o,$(patsubst bpf/%.bpf.c,$(OUTPUT)/bpf/%.bpf.o,$(BPF_SRCS)))

# The pure core (no libbpf, no I/O) is shared by the binary and the unit tests.
CORE_SRCS  := user/catalogue.c user/conn.c user/engine.c user/facts.c \
	user/flowtable.c user/fold.c $(wildcard user/facts_*.c) \
	$(wildcard user/judge_*.c) user/words.c $(wildcard user/words_*.c)
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
.PHONY: all bpf deps install uninstall test bench corecheck vmtest vmlinux clean cc-check fuzz san soak

all: $(OUTPUT)/tcptrace-bpf $(OUTPUT)/peer $(OUTPUT)/otlp_receiver $(UNIT_BINS)

# The kernel side alone: clang and bpftool, no C library of the target.
bpf: $(OUTPUT)/tcptrace.skel.h

# Debian 12 packages: the build chain, the lab (iproute2, nftables, jq),
# the comparison arm of `make bench` (tcpdump), what the CO-RE check
# and vmlinux/gen-arm64.sh unpack kernel packages with (curl, xz-utils,
# zstd, binutils' objcopy), the privilege tests' setpriv (util-linux) and
# the manifest test's YAML parser (python3-yaml), the lab's payload search
# (python3: gzip, zlib, bpftool's JSON).
DEPS := make clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev libcurl4-openssl-dev pkg-config \
	iproute2 nftables jq tcpdump procps curl xz-utils zstd binutils \
	util-linux python3 python3-yaml libclang-rt-14-dev
# `make vmtest`: qemu (TCG), a static busybox for the guest's initramfs, kmod
# (depmod, modprobe) for the guest kernel's modules. Without recommends:
# qemu's would bring a GUI.
VM_DEPS := qemu-system-x86 busybox-static kmod
# The lab's metrics scenarios scrape the tracer with a real Prometheus and
# check the text with promtool; the deploy manifests are linted with
# yamllint. Without recommends too: Prometheus' would bring its exporters.
TEST_DEPS := prometheus yamllint
# A cross build adds the target's architecture to dpkg (only then: a plain
# `make deps` leaves the host's alone) for its libraries, Multi-Arch:
# same, so they install beside the host's.
ifneq ($(ARCH),$(HOST_ARCH))
DEB_ARCH   := $(DEB_ARCH_$(ARCH))
DEPS       += gcc-$(subst _,-,$(TRIPLET_$(ARCH))) \
	libbpf-dev:$(DEB_ARCH) libelf-dev:$(DEB_ARCH) zlib1g-dev:$(DEB_ARCH) \
	libcurl4-openssl-dev:$(DEB_ARCH)
endif
deps:
ifneq ($(ARCH),$(HOST_ARCH))
	$(Q)dpkg --print-foreign-architectures | grep -qx '$(DEB_ARCH)' || { \
		echo "  DPKG     --add-architecture $(DEB_ARCH)"; \
		dpkg --add-architecture $(DEB_ARCH); }
endif
	$(Q)missing() { for p in "$$@"; do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; \
	done; }; \
	m=$$(missing $(DEPS)); v=$$(missing $(VM_DEPS) $(TEST_DEPS)); \
	if [ -n "$$m$$v" ]; then \
		echo "  DEPS     "$$m $$v; \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get update -qq && \
		{ [ -z "$$m" ] || apt-get install -y -qq $$m >/dev/null; } && \
		{ [ -z "$$v" ] || apt-get install -y -qq --no-install-recommends $$v >/dev/null; }; \
	fi

# A missing cross compiler gets a hint, not make's bare "not found".
cc-check:
	$(Q)command -v $(firstword $(CC)) >/dev/null || { \
		echo "make: no $(firstword $(CC)) for ARCH=$(ARCH) (hint: make deps ARCH=$(ARCH) installs it; make bpf ARCH=$(ARCH) builds the kernel side alone)" >&2; \
		exit 1; }

$(OUTPUT) $(OUTPUT)/bpf $(OUTPUT)/user $(OUTPUT)/tests $(OUTPUT)/core $(OUTPUT)/bench:
	$(Q)mkdir -p $@

$(OUTPUT)/bpf/%.bpf.o: bpf/%.bpf.c Makefile | $(OUTPUT)/bpf
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -MMD -MP -c $< -o $@
	$(Q)$(LLVM_STRIP) -g $@

$(OUTPUT)/tcptrace.bpf.o: $(BPF_OBJS)
	$(call msg,GEN-OBJ,$@)
	$(Q)$(BPFTOOL) gen object $@ $^

ifdef SKEL_FROM
# A variant build (the sanitizer's) loads the object the plain build made.
$(OUTPUT)/tcptrace.skel.h: $(SKEL_FROM)/tcptrace.skel.h | $(OUTPUT)
	$(call msg,CP,$@)
	$(Q)cp $< $@
else
$(OUTPUT)/tcptrace.skel.h: $(OUTPUT)/tcptrace.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name tcptrace_bpf > $@
endif

$(OUTPUT)/user/%.o: user/%.c Makefile | $(OUTPUT)/user cc-check
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $(USER_CFLAGS) -MMD -MP -c $< -o $@

# What includes the skeleton waits for it (once built, -MMD knows).
$(OUTPUT)/user/tracer.o: $(OUTPUT)/tcptrace.skel.h

$(OUTPUT)/tcptrace-bpf: $(USER_OBJS) $(CORE_OBJS)
	$(call msg,LD,$@)
	$(Q)$(CC) $(CFLAGS) $^ $(LDLIBS) -lcurl -lpthread -o $@

# The load generator of `make bench` (netperf-like CRR/RR/STREAM).
$(OUTPUT)/load: tests/bench/load.c Makefile | $(OUTPUT) cc-check
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -std=gnu11 -Wall -Wextra -Werror -MMD -MP $< -o $@

# The floor of its handler costs: empty programs on the same hooks.
$(OUTPUT)/bench/noop.bpf.o: tests/bench/noop.bpf.c Makefile | $(OUTPUT)/bench
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -MMD -MP -c $< -o $@
	$(Q)$(LLVM_STRIP) -g $@

$(OUTPUT)/bench/noop.skel.h: $(OUTPUT)/bench/noop.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name noop_bpf > $@

$(OUTPUT)/noop: tests/bench/noop.c $(OUTPUT)/bench/noop.skel.h Makefile | $(OUTPUT) cc-check
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -std=gnu11 -Wall -Wextra -Werror -I$(OUTPUT)/bench -MMD -MP $< $(LDLIBS) -o $@

$(OUTPUT)/peer: tests/peer.c Makefile | $(OUTPUT) cc-check
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -std=gnu11 -Wall -Wextra -Werror -MMD -MP $< -o $@

# A stand-in OpenTelemetry Collector for the OTLP tests.
$(OUTPUT)/otlp_receiver: tests/otlp_receiver.c Makefile | $(OUTPUT) cc-check
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -std=gnu11 -Wall -Wextra -Werror -MMD -MP $< -lz -o $@

# BPF tests (BPF_PROG_TEST_RUN) load the real skeleton.
$(OUTPUT)/test_nic: tests/unit/test_nic.c $(OUTPUT)/tcptrace.skel.h Makefile | $(OUTPUT) cc-check
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $(USER_CFLAGS) -MMD -MP $< $(LDLIBS) -o $@

# Tier-1 tests link the objects they test (the outputs name the kernel's
# hooks through the hook plan, which reads BTF with libbpf).
$(OUTPUT)/test_diagnose: $(CORE_OBJS)
$(OUTPUT)/test_alarms: $(CORE_OBJS)
$(OUTPUT)/test_misses: $(CORE_OBJS)
$(OUTPUT)/test_killed: $(CORE_OBJS)
$(OUTPUT)/test_interplay: $(CORE_OBJS)
$(OUTPUT)/test_cli: $(OUTPUT)/user/cli.o $(OUTPUT)/user/otlp_url.o
$(OUTPUT)/test_json: $(OUTPUT)/user/json.o
$(OUTPUT)/test_flowtable: $(OUTPUT)/user/flowtable.o
$(OUTPUT)/test_term: $(OUTPUT)/user/term.o
$(OUTPUT)/test_netns: $(OUTPUT)/user/netns.o
$(OUTPUT)/test_owners: $(patsubst %,$(OUTPUT)/user/%.o,cgroups proc_owners)
$(OUTPUT)/test_lab: $(patsubst %,$(OUTPUT)/user/%.o,lab report term)
$(OUTPUT)/test_file_out: $(patsubst %,$(OUTPUT)/user/%.o,file_out report term)
$(OUTPUT)/test_metrics: $(patsubst %,$(OUTPUT)/user/%.o,metrics http_server cgroups) $(CORE_OBJS)
$(OUTPUT)/test_otlp: $(patsubst %,$(OUTPUT)/user/%.o,otlp_json otlp_export otlp_url metrics json http_server cgroups) \
	$(CORE_OBJS)
$(OUTPUT)/test_otlp: LDLIBS += -lcurl
$(OUTPUT)/test_privs: $(patsubst %,$(OUTPUT)/user/%.o,privs ns_thread report term)
OUTPUT_OBJS := $(patsubst %,$(OUTPUT)/user/%.o,output json kernel_report hook_plan term cgroups)
$(OUTPUT)/test_output: $(OUTPUT_OBJS) $(CORE_OBJS)
$(OUTPUT)/test_pipeline: $(patsubst %,$(OUTPUT)/user/%.o,pipeline report cli otlp_url record_write \
	record_header) $(OUTPUT_OBJS) $(CORE_OBJS)
# Recordings: written by the pipeline, read back and replayed through it.
RECORD_OBJS := $(patsubst %,$(OUTPUT)/user/%.o,record_write record_read record_header source_file \
	replay sink_file file_out otlp_url \
	pipeline report cli)
$(OUTPUT)/test_record: $(RECORD_OBJS) $(OUTPUT_OBJS) $(CORE_OBJS)
$(OUTPUT)/test_correlate: $(patsubst %,$(OUTPUT)/user/%.o,correlate_view correlate_join) \
	$(filter-out %/replay.o,$(RECORD_OBJS)) $(OUTPUT_OBJS) $(CORE_OBJS)

# The recording reader, replay and correlate's view under the sanitizers:
# the reader's unit tests with ASan and UBSan (run by make test with the
# others), and a libFuzzer target (clang) that make test runs briefly and
# make fuzz for 10 minutes (tests/fuzz/fuzz.sh).
SAN_FLAGS  := -g -O1 -fsanitize=address,undefined -fno-sanitize-recover=undefined \
	-fno-omit-frame-pointer
SAN_SRCS   := $(addprefix user/,record_read.c record_write.c record_header.c source_file.c \
	pipeline.c report.c cli.c otlp_url.c output.c json.c kernel_report.c hook_plan.c term.c cgroups.c) \
	$(CORE_SRCS)
$(OUTPUT)/test_record_san: tests/unit/test_record.c user/replay.c user/sink_file.c user/file_out.c \
		$(SAN_SRCS) Makefile | \
		$(OUTPUT) cc-check
	$(call msg,CC-SAN,$@)
	$(Q)$(CC) $(SAN_FLAGS) $(USER_CFLAGS) -Itests/unit $(filter %.c,$^) $(LDLIBS) -o $@
$(OUTPUT)/fuzz_record: tests/fuzz/fuzz_record.c user/correlate_view.c user/correlate_join.c \
		$(SAN_SRCS) Makefile | $(OUTPUT)
	$(call msg,FUZZ,$@)
	$(Q)$(CLANG) $(SAN_FLAGS) -fsanitize=fuzzer -DFUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION \
		-DVIEW_MAX_FLOWS=4096 $(USER_CFLAGS) $(filter %.c,$^) $(LDLIBS) -o $@

fuzz: $(OUTPUT)/fuzz_record
	$(Q)FUZZ_SECONDS=$${FUZZ_SECONDS:-600} tests/fuzz/fuzz.sh

# tests/coexist: another tool's program (XDP, a TC filter, tcx) beside ours.
COEXIST_TEST := $(OUTPUT)/foreign
$(OUTPUT)/tests/foreign.bpf.o: tests/coexist/foreign.bpf.c Makefile | $(OUTPUT)/tests
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -MMD -MP -c $< -o $@
	$(Q)$(LLVM_STRIP) -g $@

$(OUTPUT)/tests/foreign.skel.h: $(OUTPUT)/tests/foreign.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name foreign_bpf > $@

$(OUTPUT)/foreign: tests/coexist/foreign.c $(OUTPUT)/tests/foreign.skel.h Makefile | $(OUTPUT) cc-check
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $(USER_CFLAGS) -I$(OUTPUT)/tests -MMD -MP $< $(LDLIBS) -o $@

# The hook plan reads BTF through libbpf; its test builds kernels' BTF in memory.
PLAN_OBJS  := $(patsubst %,$(OUTPUT)/user/%.o,hook_plan kernel_report json)
$(OUTPUT)/test_hook_plan: tests/unit/test_hook_plan.c $(PLAN_OBJS) Makefile | $(OUTPUT) cc-check
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $(USER_CFLAGS) -Itests/unit -MMD -MP $< $(PLAN_OBJS) $(LDLIBS) -o $@

$(OUTPUT)/test_%: tests/unit/test_%.c Makefile | $(OUTPUT) cc-check
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $(USER_CFLAGS) -Itests/unit -MMD -MP $< $(filter %.o,$^) $(LDLIBS) -o $@

# `tcptrace-bpf lab` runs the test suite's own lab: its scripts and peer
# go where the binary finds them (user/lab.c), relative to it.
LAB_SCRIPTS      := tests/lab/lib.sh tests/lab/scenarios.sh tests/lab/demo.sh
LAB_INSTALL_DIR  := $(PREFIX)/share/tcptrace-bpf/lab
PEER_INSTALL_DIR := $(PREFIX)/libexec/tcptrace-bpf

install: $(OUTPUT)/tcptrace-bpf $(OUTPUT)/peer
	$(call msg,INSTALL,$(DESTDIR)$(PREFIX)/sbin/tcptrace-bpf)
	$(Q)install -D -m 0755 $< $(DESTDIR)$(PREFIX)/sbin/tcptrace-bpf
	$(call msg,INSTALL,$(DESTDIR)$(LAB_INSTALL_DIR) $(DESTDIR)$(PEER_INSTALL_DIR)/peer)
	$(Q)install -d $(DESTDIR)$(LAB_INSTALL_DIR)
	$(Q)install -m 0644 $(LAB_SCRIPTS) $(DESTDIR)$(LAB_INSTALL_DIR)
	$(Q)install -D -m 0755 $(OUTPUT)/peer $(DESTDIR)$(PEER_INSTALL_DIR)/peer

uninstall:
	$(Q)rm -f $(DESTDIR)$(PREFIX)/sbin/tcptrace-bpf $(DESTDIR)$(PEER_INSTALL_DIR)/peer \
		$(addprefix $(DESTDIR)$(LAB_INSTALL_DIR)/,$(notdir $(LAB_SCRIPTS)))
	$(Q)rmdir $(DESTDIR)$(LAB_INSTALL_DIR) $(DESTDIR)$(PREFIX)/share/tcptrace-bpf \
		$(DESTDIR)$(PEER_INSTALL_DIR) 2>/dev/null || true

# The CO-RE check (tests/core): will the object load on the kernels we
# support? Its checker plans each kernel with the loader's own hook_plan.c.
# core_oracle checks the checker against libbpf itself (root only).
CORE_LIB_OBJS := $(patsubst %,$(OUTPUT)/core/core_%.o,obj relo flow load)
CORE_TEST  := $(OUTPUT)/core_check $(OUTPUT)/core_oracle $(OUTPUT)/core/fixture.bpf.o \
	$(OUTPUT)/core/kernel_old.o $(OUTPUT)/core/kernel_new.o
# Kernel BTF extracted from distribution packages; `make clean` drops it
# with the rest (fetching it again takes ~20 s).
CORE_KERNELS ?= $(OUTPUT)/kernels

$(OUTPUT)/core/%.o: tests/core/%.c Makefile | $(OUTPUT)/core cc-check
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $(USER_CFLAGS) -MMD -MP -c $< -o $@

$(OUTPUT)/core_check: $(OUTPUT)/core/core_check.o $(CORE_LIB_OBJS) $(OUTPUT)/user/hook_plan.o
	$(call msg,LD,$@)
	$(Q)$(CC) $(CFLAGS) $^ $(LDLIBS) -o $@

$(OUTPUT)/core_oracle: $(OUTPUT)/core/core_oracle.o $(CORE_LIB_OBJS)
	$(call msg,LD,$@)
	$(Q)$(CC) $(CFLAGS) $^ $(LDLIBS) -o $@

# Test-only BPF: the fixture, and two made-up kernels whose .BTF it is checked against.
$(OUTPUT)/core/fixture.bpf.o: tests/core/fixture.bpf.c Makefile | $(OUTPUT)/core
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -MMD -MP -c $< -o $@
	$(Q)$(LLVM_STRIP) -g $@

$(OUTPUT)/core/kernel_old.o $(OUTPUT)/core/kernel_new.o: $(OUTPUT)/core/kernel_%.o: \
		tests/core/fixture_kernel.c Makefile | $(OUTPUT)/core
	$(call msg,BTF,$@)
	$(Q)$(CLANG) -g -O2 -target bpf $(if $(filter old,$*),-DOLD) -c $< -o $@

# The sanitizer variant (`make san`, part of `make test`): the tracer and
# every unit test built again with AddressSanitizer (LeakSanitizer with it)
# and UndefinedBehaviorSanitizer into $(OUTPUT)/san, stopping at the first
# report; tests/run.sh runs them. The kernel side is the plain build's.
# The sub-make compiles in parallel even under a serial `make test`.
SAN_CFLAGS := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer \
	-fno-sanitize-recover=all
SAN_JOBS   ?= $(shell nproc 2>/dev/null || echo 2)
san: $(OUTPUT)/tcptrace.skel.h
	$(Q)$(MAKE) -s --no-print-directory -j$(SAN_JOBS) OUTPUT=$(OUTPUT)/san \
		SKEL_FROM=$(OUTPUT) CFLAGS='$(SAN_CFLAGS)' \
		$(OUTPUT)/san/tcptrace-bpf $(patsubst $(OUTPUT)/%,$(OUTPUT)/san/%,$(UNIT_BINS))

# Tests, the benchmark and the CO-RE check run what was built on this machine.
ifneq ($(ARCH),$(HOST_ARCH))
test bench corecheck soak:
	@echo "make: $@ runs on the build host; ARCH=$(ARCH) binaries are for an $(ARCH) machine" >&2; exit 2
else
corecheck: $(CORE_TEST) $(OUTPUT)/tcptrace.bpf.o
	$(Q)CORE_KERNELS=$(CORE_KERNELS) tests/core/run.sh

test: all $(CORE_TEST) san $(COEXIST_TEST) $(OUTPUT)/test_record_san $(OUTPUT)/fuzz_record \
	$(OUTPUT)/load $(OUTPUT)/noop
	$(Q)CORE_KERNELS=$(CORE_KERNELS) tests/run.sh

bench: all $(OUTPUT)/load $(OUTPUT)/noop
	$(Q)tests/bench.sh

# The lab for SOAK_SECONDS (600) with faults and healthy traffic, both ends
# traced, every export on: memory, fds and maps flat, nothing lost, every
# fault told (tests/soak.sh). Not part of `make test`.
soak: all
	$(Q)tests/soak.sh
endif

# The tracer and the lab on Debian's 6.1 kernel (VM_KERNEL=5.10: Debian 11's)
# under qemu; tests/run.sh runs it too, as part of `make test`.
vmtest: $(OUTPUT)/tcptrace-bpf $(OUTPUT)/peer
	$(Q)tests/vm/vmtest.sh

# x86: this machine's running kernel. arm64: a Debian arm64 kernel package,
# pinned in the script, whose boot Image carries the BTF (no arm64 machine
# needed).
ifeq ($(ARCH),arm64)
vmlinux:
	$(Q)BPFTOOL='$(BPFTOOL)' vmlinux/gen-arm64.sh vmlinux/arm64/vmlinux.h
else
vmlinux:
ifneq ($(ARCH),$(HOST_ARCH))
	$(error make vmlinux ARCH=$(ARCH) dumps the running kernel: run it on an $(ARCH) machine)
endif
	$(call msg,GEN,vmlinux/$(ARCH)/vmlinux.h)
	$(Q)mkdir -p vmlinux/$(ARCH)
	$(Q)$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > vmlinux/$(ARCH)/vmlinux.h.tmp
	$(Q)mv vmlinux/$(ARCH)/vmlinux.h.tmp vmlinux/$(ARCH)/vmlinux.h
endif

clean:
	$(call msg,CLEAN,$(OUTPUT))
	$(Q)rm -rf $(OUTPUT)

-include $(wildcard $(OUTPUT)/bpf/*.d $(OUTPUT)/user/*.d $(OUTPUT)/core/*.d $(OUTPUT)/tests/*.d \
	$(OUTPUT)/bench/*.d $(OUTPUT)/*.d)
