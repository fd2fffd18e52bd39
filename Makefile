# olrun — build, test, bench, install.
#
#   make            build ./olrun (static-pie) and ./olrun-images (its image half, dynamic)
#   make static     build ./olrun alone: every runtime verb, no images
#   make deps       install what the build and the tests need (idempotent)
#   make check      deps, build, unit + integration tests, then again under ASan+UBSan, then the VM tier
#   make demo       run a busybox container from the host's busybox-static
#   make bench      olrun against crun and runc, side by side
#   make install    PREFIX (/usr/local) and DESTDIR honoured; olrun-images goes to LIBEXECDIR

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
ALL_CFLAGS := -std=c11 $(WARN) $(HARDEN) $(CFLAGS) -Iinclude -I. -D_GNU_SOURCE -DOLRUN_LIBEXECDIR='"$(LIBEXECDIR)"' \
              -DOLRUN_VERSION='"$(VERSION)"' -DOLRUN_COMMIT='"$(COMMIT)"' -MMD -MP
LDFLAGS_HARDEN := -pie -Wl,-z,relro,-z,now -Wl,-z,noexecstack -Wl,--as-needed

# BUILD selects the flavour: build/ (release) or build/asan (ASan+UBSan).
BUILD    ?= build
ifeq ($(SANITIZE),1)
  BUILD  := build/asan
  ALL_CFLAGS += -O1 -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
  LDFLAGS_HARDEN += -fsanitize=address,undefined
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

# ./olrun is static-pie: no dynamic loader on any runtime verb (DESIGN.md,
# Speed; here 0.4 ms off every command and 0.8 ms off a `run`).  A static
# binary cannot dlopen(), so the image half (pull, bundle, images, cache,
# the launcher) and the systemd cgroup manager run in ./olrun-images, the
# same sources linked dynamically, which olrun execs for them
# (cli/images_helper.c).  Installed, it lives in LIBEXECDIR.  The ASan
# build is one dynamic binary that does everything.
ifeq ($(SANITIZE),1)
  OLRUN_BIN := $(BUILD)/olrun
  DYN_BIN   := $(OLRUN_BIN)
  ALL_BINS  := $(OLRUN_BIN)
else
  OLRUN_BIN := olrun
  DYN_BIN   := olrun-images
  ALL_BINS  := olrun olrun-images
endif
STATIC_BUILD := build/static
STATIC_OBJS  := $(LIB_SRCS:%.c=$(STATIC_BUILD)/%.o) $(CLI_SRCS:%.c=$(STATIC_BUILD)/%.o)
STATIC_LIBS  := -lseccomp -lcap -l:libyajl_s.a
STATIC_LDFLAGS := -static-pie -Wl,-z,relro,-z,now -Wl,-z,noexecstack

.PHONY: all deps check check-unit check-integration check-asan check-vm demo bench install clean fuzz static

all: $(ALL_BINS)

# Parts that add their own targets (the image tools, the VM tier) keep them beside their code.
-include $(wildcard */module.mk)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(LIBOLRUN): $(LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(DYN_BIN): $(CLI_OBJS) $(LIBOLRUN)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS_HARDEN) -o $@ $(CLI_OBJS) $(LIBOLRUN) $(RUNTIME_LIBS) $(EXTRA_LIBS)

ifneq ($(SANITIZE),1)
$(STATIC_BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC      $< (static)"
	@$(CC) $(ALL_CFLAGS) -DOLRUN_STATIC -c -o $@ $<

# Built with its image half: neither is complete without the other.
olrun: $(STATIC_OBJS) | olrun-images
	$(CC) $(ALL_CFLAGS) $(STATIC_LDFLAGS) -o $@ $(STATIC_OBJS) $(STATIC_LIBS)
endif

# make static: the static olrun alone (the runtime verbs), for a host that ships one file.
static: $(STATIC_OBJS)
	$(CC) $(ALL_CFLAGS) $(STATIC_LDFLAGS) -o olrun $(STATIC_OBJS) $(STATIC_LIBS)

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

install: olrun olrun-images
	install -D -m 0755 olrun $(DESTDIR)$(BINDIR)/olrun
	install -D -m 0755 olrun-images $(DESTDIR)$(LIBEXECDIR)/olrun-images

clean:
	rm -rf build olrun olrun-images

-include $(LIB_OBJS:.o=.d) $(CLI_OBJS:.o=.d) $(STATIC_OBJS:.o=.d)

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
