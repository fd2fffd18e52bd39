# The commit --version and `features` print is compiled in (-DOLRUN_COMMIT);
# rebuild the two objects that use it whenever HEAD moves, not only when
# their sources change.
COMMIT_STAMP := $(BUILD)/.commit
$(shell mkdir -p $(BUILD); [ "$$(cat $(COMMIT_STAMP) 2>/dev/null)" = "$(COMMIT)" ] || echo "$(COMMIT)" > $(COMMIT_STAMP))
$(BUILD)/cli/main.o $(BUILD)/runtime/features.o: $(COMMIT_STAMP)

# Man pages and bash completion come from the command table (cli/docs.c).
# `make docs` refreshes the copies kept in docs/ (a test checks they are
# current); `make install` installs fresh ones made by the installed binary.
COMPLETIONDIR ?= $(PREFIX)/share/bash-completion/completions
.PHONY: docs install-docs
docs: olrun
	@rm -f docs/man/*.8 && mkdir -p docs/man
	./olrun --generate-man docs/man
	./olrun --generate-completion > docs/olrun.bash-completion

install: install-docs
install-docs: olrun
	@rm -rf $(BUILD)/docs && mkdir -p $(BUILD)/docs/man
	./olrun --generate-man $(BUILD)/docs/man
	./olrun --generate-completion > $(BUILD)/docs/olrun.bash-completion
	install -d $(DESTDIR)$(MANDIR)/man8
	install -m 0644 $(BUILD)/docs/man/*.8 $(DESTDIR)$(MANDIR)/man8/
	install -D -m 0644 $(BUILD)/docs/olrun.bash-completion $(DESTDIR)$(COMPLETIONDIR)/olrun
