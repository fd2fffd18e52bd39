# olrun — build, test, bench, install.
#
#   make            build ./olrun
#   make static     build build/static/olrun, static-pie (runtime verbs; no image libraries)
#   make deps       install what the build and the tests need (idempotent)
#   make check      deps, build (and static), unit + integration tests, then again under ASan+UBSan, then the VM tier
#   make demo       run a busybox container from the host's busybox-static
#   make bench      olrun against crun and runc, side by side
#   make install    PREFIX (/usr/local) and DESTDIR honoured

PREFIX   ?= /usr/local
BINDIR   ?= $(PREFIX)/bin
LIBEXECDIR ?= $(PREFIX)/libexec/olrun
MANDIR   ?= $(PREFIX)/share/man
DESTDIR  ?=
CC       ?= cc
PYTHON   ?= /usr/bin/python3
VERSION  := 0.1.0
COMMIT   := $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)

# The runtime links libseccomp, libcap and yajl statically: every shared
# library costs each create/exec a trip through the dynamic loader
# (DESIGN.md, Speed).  Debian ships yajl's archive as libyajl_s.a.  libc
# stays shared: the launcher dlopen()s its own libraries.
RUNTIME_LIBS := -Wl,-Bstatic -lseccomp -lcap -l:libyajl_s.a -Wl,-Bdynamic

WARN     := -Wall -Wextra -Werror -Wno-unused-parameter -Wshadow -Wformat=2 -Wvla
HARDEN   := -D_FORTIFY_SOURCE=2 -fstack-protector-strong -fstack-clash-protection -fcf-protection -fPIE
CFLAGS   ?= -O2 -g
ALL_CFLAGS := -std=c11 $(WARN) $(HARDEN) $(CFLAGS) -Iinclude -I. -D_GNU_SOURCE \
              -DOLRUN_VERSION='"$(VERSION)"' -DOLRUN_COMMIT='"$(COMMIT)"' -MMD -MP
LDFLAGS_HARDEN := -pie -Wl,-z,relro,-z,now -Wl,-z,noexecstack -Wl,--as-needed

# BUILD selects the flavour: build/ (release) or build/asan (ASan+UBSan).
BUILD    ?= build
ifeq ($(SANITIZE),1)
  BUILD  := build/asan
  ALL_CFLAGS += -O1 -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
  LDFLAGS_HARDEN += -fsanitize=address,undefined
endif
# STATIC=1 (what `make static` runs): one static-pie binary with no
# dynamic loader at all, for hosts that ship a single file.  A static
# binary cannot dlopen(), so what needs the libraries loaded that way (the
# image transports and the launcher, the systemd cgroup manager) fails
# there with a message saying so; the runtime verbs are all there.
ifeq ($(STATIC),1)
  BUILD  := build/static
  ALL_CFLAGS += -DOLRUN_STATIC
  LDFLAGS_HARDEN := -static-pie -Wl,-z,relro,-z,now -Wl,-z,noexecstack
  RUNTIME_LIBS := -lseccomp -lcap -l:libyajl_s.a
endif

LIB_DIRS := util runtime namespaces mount cgroup seccomp
LIB_SRCS := $(foreach d,$(LIB_DIRS),$(wildcard $(d)/*.c))
# bundle/ (the launcher's image code) sits above runtime/ and links into the binary with cli/.
CLI_SRCS := $(wildcard cli/*.c) $(wildcard bundle/*.c)
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/%.o)
CLI_OBJS := $(CLI_SRCS:%.c=$(BUILD)/%.o)
LIBOLRUN := $(BUILD)/libolrun.a

UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
HELPER_SRCS := $(wildcard tests/helpers/*.c)
HELPER_BINS := $(HELPER_SRCS:tests/helpers/%.c=$(BUILD)/tests/helpers/%)

ifneq ($(filter 1,$(SANITIZE) $(STATIC)),)
  OLRUN_BIN := $(BUILD)/olrun
else
  OLRUN_BIN := olrun
endif

.PHONY: all deps check check-unit check-integration check-asan check-vm demo bench install clean fuzz static

all: $(OLRUN_BIN)

# Parts that add their own targets (the image tools, the VM tier) keep them beside their code.
-include $(wildcard */module.mk)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(LIBOLRUN): $(LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(OLRUN_BIN): $(CLI_OBJS) $(LIBOLRUN)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS_HARDEN) -o $@ $(CLI_OBJS) $(LIBOLRUN) $(RUNTIME_LIBS) $(EXTRA_LIBS)

static:
	$(MAKE) STATIC=1 build/static/olrun

$(BUILD)/tests/test_%: tests/unit/test_%.c $(LIBOLRUN)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS_HARDEN) -o $@ $< $(LIBOLRUN) $(RUNTIME_LIBS) -lcmocka

# Helpers that run inside test containers are static, so a busybox rootfs can run them.
$(BUILD)/tests/helpers/%: tests/helpers/%.c
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -O2 -Wall -Wextra -Werror -D_GNU_SOURCE -static -o $@ $<

# ---- dependencies ----------------------------------------------------------
BUILD_PKGS := build-essential pkg-config libseccomp-dev libcap-dev libyajl-dev
TEST_PKGS  := libcmocka-dev python3-pytest python3-pytest-xdist busybox-static iproute2 uidmap \
              crun runc podman conmon skopeo umoci docker-registry openssl util-linux procps \
              libclang-rt-14-dev hyperfine
VM_PKGS    := qemu-system-x86 linux-image-amd64 cpio xz-utils kmod
DEPS_PKGS  := $(BUILD_PKGS) $(TEST_PKGS) $(VM_PKGS) $(MODULE_PKGS)

deps:
	@missing=$$(for p in $(sort $(DEPS_PKGS)); do \
	    dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed$$' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	    echo "deps: installing" $$missing; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	else echo "deps: all installed"; fi

# ---- tests -----------------------------------------------------------------
PYTEST_ARGS ?=
check: deps
	$(MAKE) static
	$(MAKE) check-unit check-integration
	$(MAKE) SANITIZE=1 check-unit check-integration
	$(MAKE) check-vm

check-unit: $(UNIT_BINS)
	@set -e; for t in $(UNIT_BINS); do echo "unit: $$t"; $$t; done

check-integration: $(OLRUN_BIN) $(HELPER_BINS) $(MODULE_BINS)
	OLRUN=$(abspath $(OLRUN_BIN)) OLRUN_HELPERS=$(abspath $(BUILD)/tests/helpers) \
	  $(PYTHON) -m pytest -q -n 2 -p no:cacheprovider tests/integration $(PYTEST_ARGS)

demo: olrun
	@sh tests/demo.sh

bench: olrun $(HELPER_BINS) $(MODULE_BINS)
	@sh bench/bench.sh

install: olrun
	install -D -m 0755 olrun $(DESTDIR)$(BINDIR)/olrun

clean:
	rm -rf build olrun

-include $(LIB_OBJS:.o=.d) $(CLI_OBJS:.o=.d)

# ---- fuzzing ---------------------------------------------------------------
# make fuzz: build the libFuzzer targets with clang and run each for
# FUZZ_SECONDS (default 60) from tests/fuzz/corpus.
FUZZ_SECONDS ?= 60
build/fuzz/%: tests/fuzz/%.c $(LIB_SRCS)
	@mkdir -p $(dir $@)
	clang -std=c11 -D_GNU_SOURCE -Iinclude -I. -g -O1 -fsanitize=fuzzer,address,undefined \
	  -DOLRUN_VERSION='"$(VERSION)"' -DOLRUN_COMMIT='"$(COMMIT)"' -o $@ $< $(LIB_SRCS) $(RUNTIME_LIBS)

fuzz: build/fuzz/fuzz_config
	@mkdir -p build/fuzz/corpus && cp -n tests/fuzz/corpus/* build/fuzz/corpus/
	build/fuzz/fuzz_config -max_total_time=$(FUZZ_SECONDS) -max_len=65536 build/fuzz/corpus
