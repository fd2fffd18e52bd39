# cgroup/: the library driver used by the cgroup tests, and the VM tier.
#
#   make check-vm     boot one pure cgroup-v2 VM (../shared/tools/vm-run.sh)
#                     and run tests/vm/suite.sh in it: limits proven by effect.

CGDRIVER := $(BUILD)/tests/helpers/olrun-cgdriver
MODULE_BINS += $(CGDRIVER)
VM_RUN ?= $(abspath ../shared/tools/vm-run.sh)

# Linked with the library (unlike the static in-container helpers).
$(CGDRIVER): tests/vm/cgdriver.c $(LIBOLRUN)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS_HARDEN) -o $@ $< $(LIBOLRUN) $(RUNTIME_LIBS)

check-vm: $(OLRUN_BIN) $(CGDRIVER) $(HELPER_BINS)
	VM_RUN=$(VM_RUN) OLRUN=$(abspath $(OLRUN_BIN)) OLRUN_HELPERS=$(abspath $(BUILD)/tests/helpers) \
	  sh tests/vm/run.sh
