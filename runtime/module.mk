# runtime/: what bench/security.sh needs to show the cost of the
# CVE-2019-5736 protection (runtime/exe_protect.c): an in-process timer of
# it, and an olrun linked without it (bench/exe_noprotect.c) to compare
# whole runs against.  Neither is installed or used by the tests.
EXE_PROTECT_TIME := $(BUILD)/bench/exe_protect_time
OLRUN_NOPROTECT := $(BUILD)/bench/olrun-noprotect

$(EXE_PROTECT_TIME): bench/exe_protect_time.c $(LIBOLRUN)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS_HARDEN) -o $@ $< $(LIBOLRUN) $(RUNTIME_LIBS)

$(BUILD)/bench/exe_noprotect.o: bench/exe_noprotect.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

# Linked as ./olrun is (static-pie), so the two differ by the protection only.
$(OLRUN_NOPROTECT): $(filter-out $(STATIC_BUILD)/runtime/exe_protect.o,$(STATIC_OBJS)) $(BUILD)/bench/exe_noprotect.o
	$(CC) $(ALL_CFLAGS) $(STATIC_LDFLAGS) -o $@ $^ $(STATIC_LIBS)

.PHONY: bench-security-tools
bench-security-tools: $(EXE_PROTECT_TIME) $(OLRUN_NOPROTECT)
