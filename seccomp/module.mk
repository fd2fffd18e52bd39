# seccomp/: seccomp_try, the driver that runs a command under a profile
# through the seccomp/ library without a container (tests/seccomp/).  The
# integration tests and bench/seccomp.sh use it.  It links libolrun, so it
# is dynamic (yajl has no static archive) and lives beside, not in,
# $(BUILD)/tests/helpers, whose binaries are static for busybox rootfses.
SECCOMP_TRY := $(BUILD)/tests/seccomp_try
MODULE_BINS += $(SECCOMP_TRY)

$(SECCOMP_TRY): tests/seccomp/seccomp_try.c $(LIBOLRUN)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS_HARDEN) -o $@ $< $(LIBOLRUN) $(RUNTIME_LIBS)

.PHONY: seccomp-try
seccomp-try: $(SECCOMP_TRY)
