# bundle/: the image side of the launcher (issue 7).  Its libraries are
# dlopen'ed (bundle/dl.c), so nothing is added to the link of ./olrun; the
# -dev packages provide the headers, the runtime packages the .so files.
MODULE_PKGS += libarchive-dev libcurl4-openssl-dev libssl-dev libzstd-dev zlib1g-dev \
               libarchive-tools apache2-utils umoci skopeo docker-registry openssl zstd

# The unit tests of bundle/ link its objects too (the main rule links only
# libolrun.a).  A shorter stem wins in GNU make, so this rule is chosen.
BUNDLE_OBJS := $(patsubst %.c,$(BUILD)/%.o,$(wildcard bundle/*.c))
$(BUILD)/tests/test_bundle_%: tests/unit/test_bundle_%.c $(BUNDLE_OBJS) $(LIBOLRUN)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS_HARDEN) -o $@ $< $(BUNDLE_OBJS) $(LIBOLRUN) $(RUNTIME_LIBS) -lcmocka

# bench/unpack.sh's inflate-only floor: zlib inflate of each layer, no writes.
$(BUILD)/bench/inflate-floor: bench/inflate_floor.c
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -O2 -Wall -Wextra -Werror -o $@ $< -lz

.PHONY: bench-unpack
bench-unpack: $(OLRUN_BIN) $(BUILD)/bench/inflate-floor
	@OLRUN=$(abspath $(OLRUN_BIN)) BUILD=$(BUILD) sh bench/unpack.sh

# bench/launch.sh: the launcher's second launch against a prepared bundle
# and podman, side by side (issue 8).
.PHONY: bench-launch
bench-launch: $(OLRUN_BIN)
	@OLRUN=$(abspath $(OLRUN_BIN)) sh bench/launch.sh
