# bench/exec.sh: exec of /bin/true into a running container, olrun against
# crun and runc (bench/bench.sh calls it as part of `make bench`).
.PHONY: bench-exec
bench-exec: $(OLRUN_BIN)
	@OLRUN=$(abspath $(OLRUN_BIN)) sh bench/exec.sh
