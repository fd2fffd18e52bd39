# The commit --version and `features` print is compiled in (-DOLRUN_COMMIT);
# rebuild the two objects that use it whenever HEAD moves, not only when
# their sources change.
COMMIT_STAMP := $(BUILD)/.commit
$(shell mkdir -p $(BUILD); [ "$$(cat $(COMMIT_STAMP) 2>/dev/null)" = "$(COMMIT)" ] || echo "$(COMMIT)" > $(COMMIT_STAMP))
$(BUILD)/cli/main.o $(BUILD)/runtime/features.o: $(COMMIT_STAMP)
